"""The API docs page in a real browser: it loads without any CDN, takes a key under "Authorize" and runs a call."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.api.v1_fixtures import Keys, V1Server


def test_authorize_with_a_key_then_try_a_call_from_the_docs_page(page: Page, v1_server: V1Server, keys: Keys) -> None:
    outside_requests: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(v1_server.url) else outside_requests.append(request.url),
    )

    page.goto(f"{v1_server.url}/api/docs")
    page.locator(".scheme-container button.authorize").click()
    page.locator(".auth-container input").fill(keys.viewer)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()
    operation = page.locator("#operations-keys-me_api_v1_me_get")
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()

    answer = operation.locator(".live-responses-table tr.response").first
    expect(answer.locator(".response-col_status")).to_have_text("200")
    expect(answer.locator(".response-col_description")).to_contain_text('"viewer"')
    assert outside_requests == []
