/* Draws every chart whose ECharts option is embedded in the page (aria on), after load and after HTMX swaps. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.echarts) return;
    var lang = document.body.getAttribute("data-lang") === "en" ? "EN" : "ZH";
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (window.echarts.getInstanceByDom(el)) return;
      var data = document.getElementById(el.getAttribute("data-chart"));
      if (!data) return;
      var option = JSON.parse(data.textContent);
      option.aria = Object.assign({ enabled: true }, option.aria || {});
      option.animation = false;
      var chart = window.echarts.init(el, null, { renderer: "svg", locale: lang });
      chart.setOption(option);
      el.setAttribute("data-rendered", "true");
    });
  }

  function resizeAll() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-rendered]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
  window.addEventListener("resize", resizeAll);
  window.addEventListener("beforeprint", resizeAll);
})();
