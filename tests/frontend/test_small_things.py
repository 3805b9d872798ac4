"""Small things a first visit trips over: where a login lands, offline API docs, the favicon."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.frontend.harness import PASSWORD


def _user(server):  # type: ignore[no-untyped-def]
    username = server.unique("lena")
    server.call("user_create", username=username, password=PASSWORD)
    return username


def _log_in(page, username):  # type: ignore[no-untyped-def]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").last.click()


def test_a_login_without_next_lands_on_the_home_page(concord_server, new_context):  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    page.goto(concord_server.url("/accounts/login/"))
    _log_in(page, _user(concord_server))
    expect(page).to_have_url(concord_server.url("/"))
    expect(page.get_by_text(re.compile("Signed in as"))).to_be_visible()


def test_a_login_with_next_lands_where_it_came_from(concord_server, new_context):  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    page.goto(concord_server.url("/accounts/login/?next=/new/"))
    _log_in(page, _user(concord_server))
    expect(page).to_have_url(concord_server.url("/new/"))


def test_the_api_docs_render_with_nothing_from_the_internet(concord_server, new_context):  # type: ignore[no-untyped-def]
    context = new_context()
    outside: list[str] = []

    def only_local(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(concord_server.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(concord_server.url("/api/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Concord API", timeout=30000)
    assert outside == []


def test_every_page_has_a_favicon(concord_server, new_context):  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    page.goto(concord_server.url("/"))
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href and page.request.get(concord_server.url(href)).status == 200
