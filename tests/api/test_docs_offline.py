"""/docs and /redoc load on an intranet: every asset comes from the service, nothing names another host."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.docs import ASSETS
from api.settings import Settings
from models.db import make_engine

# anything that could make a browser reach out: an absolute or protocol-relative URL
FOREIGN = re.compile(r"""(?:[a-z][a-z0-9+.-]*:)?//[^\s'"()<>]+""", re.I)


class _References(HTMLParser):
    """Every URL a page makes the browser load (src, href, ReDoc's spec-url) and its inline scripts."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scripts.append(data)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(database_url="sqlite://"), make_engine("sqlite://")))


def _references(client: TestClient, page: str) -> _References:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert not FOREIGN.findall(re.sub(r"<!--.*?-->", "", response.text, flags=re.S)), f"{page} names another host"
    refs = _References()
    refs.feed(response.text)
    return refs


def _assert_served(client: TestClient, urls: list[str]) -> None:
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{url} is not on the service"
        response = client.get(url)
        assert response.status_code == 200 and response.content, url
        if url.endswith(".css"):  # a stylesheet can pull fonts and images of its own
            assert all(u.startswith("data:") or not FOREIGN.match(u) for u in re.findall(r"url\(['\"]?([^'\")]+)", response.text))
            assert "@import" not in response.text


def test_swagger_ui_loads_everything_from_the_service_and_calls_no_validator(client):
    refs = _references(client, "/docs")
    config = next(s for s in refs.scripts if "SwaggerUIBundle(" in s)
    spec = re.search(r"url:\s*'([^']+)'", config).group(1)
    assert '"validatorUrl": null' in config  # otherwise the reader's browser sends the schema to an outside validator
    assert {u.rsplit("/", 1)[-1] for u in refs.urls} == {"swagger-ui.css", "favicon-32x32.png", "swagger-ui-bundle.js"}
    _assert_served(client, refs.urls + [spec])


def test_redoc_loads_everything_from_the_service_without_google_fonts(client):
    refs = _references(client, "/redoc")
    assert {u.rsplit("/", 1)[-1] for u in refs.urls} == {"favicon-32x32.png", "redoc.standalone.js", "openapi.json"}
    _assert_served(client, refs.urls)


def test_vendored_assets_are_the_published_files_with_their_licences():
    sums = dict(reversed(line.split("  ")) for line in (ASSETS / "SHA256SUMS").read_text().splitlines())
    files = {p.relative_to(ASSETS).as_posix() for p in ASSETS.glob("*/*")}
    assert files == set(sums)
    assert {"swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"} <= files
    for name, digest in sums.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name
