"""The console against the same real stack as the API tests (tests/api/conftest.py): the app served
by uvicorn on a free port, the Temporal dev server, embedded PostgreSQL, a worker and the bank
simulator. A console client is an httpx client that signed in through the sign-in form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from api.console.session import TOKEN_COOKIE
from infra.officers import ensure_officer
from jps.domain.roles import Role
from tests.api.conftest import *  # noqa: F403  (see below)
from tests.api.conftest import Stack

# Every fixture of tests/api/conftest.py (`stack`, `http`, `api_stack` and whatever `api_stack` itself
# stands on) is made visible in this folder by the star import above: pytest finds fixtures by name
# in the conftest of the test's folder, and naming them one by one would break each time the API
# tests' fixtures change shape.

ConsoleLogin = Callable[..., Awaitable[httpx.AsyncClient]]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright's launch arguments, for Debian's Chromium (NOTES.md, "Browser tests")."""
    return {
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
async def console(stack: Stack) -> AsyncIterator[ConsoleLogin]:
    """`await console(Role.VERIFIER, regions=["31"])`: a client signed in through the form."""
    clients: list[httpx.AsyncClient] = []

    async def login(role: Role | list[Role], **kw: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=stack.url, timeout=60, follow_redirects=False)
        clients.append(client)
        resp = await client.post("/masuk", data={"token": stack.token(role, **kw), "next": "/"})
        assert resp.status_code == 303, resp.text
        assert TOKEN_COOKIE in client.cookies
        return client

    yield login
    for client in clients:
        await client.aclose()


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, page[:200]
    return found.group(1)


def heading(page: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert found, page[:400]
    return found.group(1).strip()


def alerts(page: str) -> str:
    """The text of the page's alert boxes (refusals, invalid input), tags stripped."""
    boxes = re.findall(r'<div class="alert error[^"]*" role="alert">(.*?)</div>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", b) for b in boxes)


BROWSER_PASSWORD = "kata-sandi-peramban"


async def signed_in(browser: Browser, stack: Stack, officer_id: str, roles: Role | list[Role]) -> Page:
    """A page of a new browser context in which the officer (put in the directory with these roles)
    signed in through the form."""
    await ensure_officer(
        stack.pool,
        officer_id=officer_id,
        roles=roles if isinstance(roles, list) else [roles],
        regions=["31"],
        password=BROWSER_PASSWORD,
    )
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = await context.new_page()
    await page.goto(f"{stack.url}/masuk")
    await page.get_by_label("Nama pengguna").fill(officer_id)
    await page.get_by_label("Kata sandi").fill(BROWSER_PASSWORD)
    await page.get_by_role("button", name="Masuk").first.click()
    await expect(page.locator("h1")).to_have_text("Kotak tugas")
    return page
