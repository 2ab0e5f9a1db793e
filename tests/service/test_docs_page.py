"""``/docs`` and ``/redoc`` work without internet: every file they load is served by the service
(from the fastapi-offline package), checked in the app and, in a real Chromium whose every request
to another origin is cut, by Swagger UI drawing the API's operations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import AppFactory
from tests.service.live import Server, start_server
from tests.service.test_demo_page import browser  # noqa: F401 (the module's Chromium fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


def references(html: str) -> list[str]:
    return [r for r in REFERENCE.findall(html) if not r.startswith("#")]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_pages_load_only_files_of_the_service(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    found = references(answer.text)
    assert "/openapi.json" in found
    files = [r for r in found if r != "/openapi.json"]
    assert files, answer.text
    for reference in files:
        assert reference.startswith("/docs/assets/"), reference  # no CDN, no other origin
        asset = client.get(reference)
        assert asset.status_code == 200 and len(asset.content) > 1000, reference
    assert "cdn." not in answer.text and "fonts.googleapis" not in answer.text


def test_assets_have_their_types_and_unknown_ones_are_404(client: TestClient) -> None:
    assert (
        client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    )
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    missing = client.get("/docs/assets/nothing.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_pages_are_open_and_not_in_the_schema(make_app: AppFactory) -> None:
    with TestClient(make_app(api_key="secret")) as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/docs/assets/swagger-ui.css").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith(("/docs", "/redoc")) for path in paths)


# --- in a real browser, offline (slow) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    browser: Browser,  # noqa: F811 (asked for first: no server when the browser skips)
    tiny_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    running = start_server(tiny_model_dir, tmp_path_factory.mktemp("docs") / "server.log")
    yield running
    running.stop()


@pytest.mark.slow
def test_swagger_ui_draws_the_api_with_the_network_cut(browser: Browser, server: Server) -> None:  # noqa: F811
    from playwright.sync_api import Route, expect

    context = browser.new_context(base_url=server.url)
    cut: list[str] = []

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            cut.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_service)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        assert page.goto("/docs").status == 200
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("slotfill")
        expect(page.locator(".opblock-summary-path", has_text="/v1/parse").first).to_be_visible()
        assert page.locator(".swagger-ui .errors-wrapper").count() == 0
    finally:
        context.close()
    assert cut == [], cut
