"""ECharts options built from the same figures the tables show; each page embeds its options as JSON."""

from __future__ import annotations

from collections.abc import Sequence

GRID = {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True}


def bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence]], horizontal: bool = False,
         percent: bool = False, stack: bool = False) -> dict:
    """A bar chart: one bar per category and series (names already in the page's language)."""
    value_axis = {"type": "value", **({"max": 1, "axisLabel": {"formatter": "{value}"}} if percent else {})}
    category_axis = {"type": "category", "data": list(categories),
                     "axisLabel": {"interval": 0, "rotate": 0 if horizontal else 45, "hideOverlap": True}}
    option = {"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": GRID,
              "xAxis": value_axis if horizontal else category_axis,
              "yAxis": category_axis if horizontal else value_axis,
              "series": [{"type": "bar", "name": name, "data": list(values), **({"stack": "all"} if stack else {})}
                         for name, values in series]}
    if horizontal:
        option["yAxis"]["inverse"] = True
    return option


def lines(categories: Sequence[str], series: Sequence[tuple[str, Sequence]], percent: bool = False) -> dict:
    """A line chart over periods (gaps where a figure is empty)."""
    return {"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": GRID,
            "xAxis": {"type": "category", "data": list(categories)},
            "yAxis": {"type": "value", **({"min": 0, "max": 1} if percent else {})},
            "series": [{"type": "line", "name": name, "data": list(values), "connectNulls": False,
                        "symbolSize": 8} for name, values in series]}


def pie(items: Sequence[tuple[str, int]]) -> dict:
    return {"tooltip": {"trigger": "item"}, "legend": {"top": 0},
            "series": [{"type": "pie", "radius": ["35%", "65%"], "top": 30,
                        "data": [{"name": n, "value": v} for n, v in items]}]}
