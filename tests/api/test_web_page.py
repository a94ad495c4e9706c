"""The web page in headless Chromium (Debian's, driven by Playwright): ask the example question,
see the streamed answer, open its citation and read the quoted passage."""

from __future__ import annotations

import shutil

import pytest

from tests.api.conftest import Server

pytestmark = [pytest.mark.slow, pytest.mark.server]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_page_asks_and_shows_the_cited_answer(corpus: Server) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(corpus.url + "/")
            page.fill("#apikey", corpus.read_key)
            page.dispatch_event("#apikey", "change")
            page.fill("#question", "Qui dirige la délégation russe ?")
            page.click("button.go")
            marker = page.locator("button.cite").first
            marker.wait_for(timeout=300_000)
            answer = page.locator(".a").first.inner_text()
            assert "Dmitriev" in answer
            marker.click()
            quote = page.locator(".source.open").first.inner_text()
            assert "Dmitriev" in quote and "exemple-relais" in quote
        finally:
            browser.close()
