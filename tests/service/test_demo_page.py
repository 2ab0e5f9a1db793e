"""The demo page at ``GET /``: served open and self-contained (no external URL, a strict CSP), and,
in a real Chromium driven by Playwright against the real server, drawing each slot where it is.

The browser tests need the ``playwright`` package and Debian's Chromium at /usr/bin/chromium (never
``playwright install``: no downloads here). Without them they skip, unless
``CI_REQUIRE_BROWSER=1`` (CI) makes that a failure."""

from __future__ import annotations

import importlib.util
import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from tests.service.live import Server, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

AppFactory = Callable[..., FastAPI]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Read at import: the service tests' autouse fixture removes every SLOTFILL_* variable.
REQUIRE_BROWSER = os.environ.get("CI_REQUIRE_BROWSER") == "1"
API_KEY = "demo-secret"
SENTENCE = "arrive taipei on november 2nd"
# What the tiny model finds (tests/model/test_predictor.py checks it is sure of these tags).
SENTENCE_SLOTS = [("dest", "taipei"), ("time", "november 2nd")]
EXTERNAL = re.compile(r"https?:|(?:src|href|action)\s*=\s*[\"']?//|url\(|@import", re.IGNORECASE)


# --- served by the app ---------------------------------------------------------------------------


def assets(client: TestClient) -> dict[str, httpx.Response]:
    """The page and every file it references, by URL."""
    page = client.get("/")
    files = {"/": page}
    for reference in re.findall(r"(?:src|href)\s*=\s*\"([^\"]*)\"", page.text):
        files[reference] = client.get(f"/{reference}")
    return files


def test_page_is_html_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<h1>" in response.text and 'id="parse-form"' in response.text


def test_assets_are_served_with_their_content_types(client: TestClient) -> None:
    files = assets(client)
    assert set(files) == {"/", "demo/demo.css", "demo/demo.js"}
    assert files["demo/demo.js"].headers["content-type"] == "text/javascript; charset=utf-8"
    assert files["demo/demo.css"].headers["content-type"] == "text/css; charset=utf-8"
    for response in files.values():
        assert response.status_code == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
    missing = client.get("/demo/secrets.txt")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_page_references_nothing_external_and_inlines_nothing(client: TestClient) -> None:
    files = assets(client)
    for name, response in files.items():
        found = EXTERNAL.search(response.text)
        assert found is None, f"{name} refers outside the service: {found}"
    html, script = files["/"].text, files["demo/demo.js"].text
    # The CSP allows no inline code or style: all of it lives in the two files.
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html and re.search(r"<[^>]*\s(style|on\w+)\s*=", html) is None
    # The only request the script makes is the API call, relative to the page.
    assert re.findall(r"fetch\(\s*\"([^\"]*)\"", script) == ["v1/parse"]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_page_is_open_when_an_api_key_is_required(make_app: AppFactory) -> None:
    with TestClient(make_app(api_key="secret")) as client:
        for response in assets(client).values():
            assert response.status_code == 200
        assert client.post("/v1/parse", json={"text": SENTENCE}).status_code == 401


def test_page_is_not_part_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith("/demo") for path in paths)


# --- in a real browser (slow: a Chromium and a live server) -------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module; skips (fails under CI_REQUIRE_BROWSER=1) when
    the playwright package or /usr/bin/chromium is missing."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        reason = f"the browser tests need {' and '.join(missing)}"
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}; CI_REQUIRE_BROWSER=1 requires them", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(
    browser: Browser, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The real service with an API key (asks for ``browser`` first: no server when it skips)."""
    running = start_server(tiny_model_dir, tmp_path_factory.mktemp("demo") / "server.log", api_key=API_KEY)
    yield running
    running.stop()


def open_page(browser: Browser, server: Server, **context: Any) -> Iterator[Page]:
    """The demo page in a fresh context; fails the test if the CSP blocked anything on it."""
    opened = browser.new_context(base_url=server.url, viewport={"width": 900, "height": 700}, **context)
    page = opened.new_page()
    page.set_default_timeout(10_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto("/")
    assert response is not None and response.status == 200
    yield page
    opened.close()
    blocked = [line for line in console if "Content Security Policy" in line]
    assert not blocked, blocked


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """The page, with the API key sent by the browser itself (the 401 flow has its own test)."""
    yield from open_page(browser, server, extra_http_headers={"Authorization": f"Bearer {API_KEY}"})


@pytest.fixture
def page_without_key(browser: Browser, server: Server) -> Iterator[Page]:
    yield from open_page(browser, server)


def submit(page: Page, text: str) -> None:
    """Type ``text``, press Enter, and wait until the page has drawn the answer."""
    from playwright.sync_api import expect

    page.fill("#text", text)
    with page.expect_response("**/v1/parse"):
        page.press("#text", "Enter")
    expect(page.locator("#parse")).to_be_enabled()


def slots(page: Page) -> list[tuple[str, str, str]]:
    """(label, highlighted text, caption) of each highlight, in order."""
    marks = page.locator("#result mark.slot")
    return [
        (
            str(marks.nth(i).get_attribute("data-slot")),
            marks.nth(i).locator(".slot-value").inner_text(),
            marks.nth(i).locator(".slot-label").inner_text(),
        )
        for i in range(marks.count())
    ]


def shown_text(page: Page) -> str:
    """The sentence as drawn, captions left out: must be exactly the text sent."""
    return str(
        page.evaluate(
            """() => {
                const copy = document.querySelector('#result .sentence').cloneNode(true);
                copy.querySelectorAll('.slot-label').forEach((caption) => caption.remove());
                return copy.textContent;
            }"""
        )
    )


def background(page: Page, label: str) -> tuple[int, ...]:
    """The highlight colour of ``label`` as drawn (computed style), as RGB."""
    css = page.locator(f'#result mark[data-slot="{label}"]').first.evaluate(
        "mark => getComputedStyle(mark).backgroundColor"
    )
    return tuple(int(part) for part in re.findall(r"\d+", css)[:3])


@pytest.mark.slow
def test_slots_are_highlighted_in_place_with_label_and_confidence(page: Page) -> None:
    submit(page, SENTENCE)
    found = slots(page)
    assert [(label, value) for label, value, _ in found] == SENTENCE_SLOTS
    for label, _, caption in found:
        assert re.fullmatch(rf"{label} (0\.\d\d|1\.00)", caption), caption
    assert shown_text(page) == SENTENCE
    assert re.fullmatch(r"Intent flight (0\.\d\d|1\.00)", page.inner_text("#result .intent"))
    assert page.is_hidden("#error")
    # One colour per label, the same in the next sentence.
    dest = background(page, "dest")
    assert dest != background(page, "time")
    submit(page, "fly from boston to paris")
    assert [label for label, _, _ in slots(page)] == ["departure", "dest"]
    assert background(page, "dest") == dest


@pytest.mark.slow
@pytest.mark.parametrize("text", ["😀 " + SENTENCE, "🛫✈️ " + SENTENCE, "fly 👍🏽 " + SENTENCE])
def test_offsets_count_code_points_not_utf16_units(page: Page, server: Server, text: str) -> None:
    # The labels and spans are the model's business (an emoji is context too, and the tiny model
    # is less sure of its tags after one): what the page must get right is where the API's
    # code-point offsets fall in JavaScript's UTF-16 string, for whatever slots it found.
    headers = {"Authorization": f"Bearer {API_KEY}"}
    answer = httpx.post(f"{server.url}/v1/parse", json={"text": text}, headers=headers, timeout=10).json()
    submit(page, text)
    found = [(label, value) for label, value, _ in slots(page)]
    assert found == [(slot["slot"], text[slot["start"] : slot["end"]]) for slot in answer["slots"]]
    assert found, "no slot after the emoji: nothing whose place could be wrong"
    assert shown_text(page) == text


@pytest.mark.slow
def test_user_text_is_never_markup(page: Page) -> None:
    text = '<img src=x onerror="document.title=1"> arrive taipei <b>on</b> november 2nd'
    submit(page, text)
    assert page.locator("#result img, #result b").count() == 0
    assert shown_text(page) == text
    assert page.title() == "slotfill demo"


@pytest.mark.slow
def test_api_errors_show_the_api_message(page: Page, server: Server) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    for text in ("", "   ", "x" * 1001):
        expected = httpx.post(f"{server.url}/v1/parse", json={"text": text}, headers=headers, timeout=10)
        assert expected.status_code == 422
        submit(page, SENTENCE)  # a result first: an error must replace it, not sit beside it
        submit(page, text)
        assert page.inner_text("#error") == expected.json()["error"]["message"]
        assert page.locator("#result mark").count() == 0
    submit(page, SENTENCE)
    assert page.is_hidden("#error")


@pytest.mark.slow
def test_network_failure_shows_a_message(page: Page) -> None:
    page.route("**/v1/parse", lambda route: route.abort())
    page.fill("#text", SENTENCE)
    page.press("#text", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("Could not reach the service")


@pytest.mark.slow
def test_api_key_is_asked_for_after_a_401_and_sent_as_bearer(page_without_key: Page) -> None:
    page = page_without_key
    assert page.is_hidden("#key-row")
    submit(page, SENTENCE)
    assert "an API key is required" in page.inner_text("#error")
    assert page.is_visible("#key-row")
    page.fill("#api-key", "wrong")
    submit(page, SENTENCE)
    assert "the API key is not valid" in page.inner_text("#error")
    page.fill("#api-key", API_KEY)
    with page.expect_request("**/v1/parse") as request:
        submit(page, SENTENCE)
    assert request.value.headers["authorization"] == f"Bearer {API_KEY}"
    assert [label for label, _, _ in slots(page)] == ["dest", "time"]
    assert page.is_hidden("#error")


def count_near(image: Image.Image, colour: tuple[int, ...], tolerance: int = 3) -> int:
    """Pixels of ``image`` within ``tolerance`` of ``colour`` in every channel."""
    colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    return sum(
        count
        for count, pixel in colours
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))
    )


@pytest.mark.slow
def test_screenshot_shows_the_highlight_colours(page: Page, tmp_path: Path) -> None:
    before = page.locator("#result").screenshot(path=tmp_path / "before.png")
    submit(page, SENTENCE)
    after = page.locator("#result").screenshot(path=tmp_path / "after.png")
    page.screenshot(path=tmp_path / "page.png", full_page=True)
    for label in ("dest", "time"):
        colour = background(page, label)
        assert count_near(Image.open(io.BytesIO(before)), colour) == 0, label
        # A highlight is some 20 px high and 50 px wide: most of it is its background colour.
        assert count_near(Image.open(io.BytesIO(after)), colour) > 400, label
