"""The console in headless Chromium: a person clicks and types through the whole journey, and the
page shows what Discord and Flex do, live (no test here reloads the page after an action).

Screenshots of every step land in test-artifacts/screenshots/<test>/.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from devstack.stack import LocalStack
from tests.support.browser import Page, chromium

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"MemberRateLimitPerMinute": 0}) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def page(stack: LocalStack, browser: object, request: pytest.FixtureRequest) -> Page:
    assert stack.console is not None
    return Page(browser, stack.console.url, request.node.name)  # type: ignore[arg-type]


def png(path: Path, width: int = 64, height: int = 40) -> Path:
    """A real PNG (a blue gradient), as a member's screenshot would be."""
    rows = b"".join(
        b"\x00" + bytes(value for x in range(width) for value in (0, x * 4 % 256, 200)) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def test_a_member_gets_articles_reaches_an_agent_and_rates_the_chat(page: Page) -> None:
    page.open("alice")
    page.shot("opened")

    page.slash("helpme", question="my pokéstop is missing from the map")
    page.shows("#messages", "These articles might help")
    page.shows("#messages", "Waystones")  # the help centre's article on map points
    page.shot("articles")

    page.press("Talk to a human")
    task = page.until(lambda: page.text_of("#tasks .task.pending"), "a Flex task")
    assert "Alice" in task  # the display name
    assert "Case\n#" in task or "Case #" in task  # and the case number
    page.click("#tasks .task.pending")
    page.shows("#transcript", "my pokéstop is missing from the map")  # what she wrote
    page.shows("#transcript", "Waystones")  # and what the assistant answered
    page.find("#agent-name").clear()
    page.find("#agent-name").send_keys("Sam")
    page.find("#accept").click()
    page.shows("#messages", "Sam")  # the member is told who joined
    page.shot("agent-joined")

    page.find("#reply-text").send_keys("Hi Alice, I'm on it: which town is the stop in?")
    page.find("#reply button[type=submit]").click()
    page.shows("#messages", "which town is the stop in?")

    page.find("#input").send_keys("It's in Lyon, by the river")  # plain text in the chat goes as /reply
    page.find("#bar button[type=submit]").click()
    page.shows("#transcript", "It's in Lyon, by the river")
    transcript = page.text_of("#transcript")
    assert "Alice" in transcript  # the member by the name the task carries
    assert "member_" not in transcript  # never her opaque Twilio identity
    page.shot("chatting")

    page.until(lambda: page.find("#complete").is_enabled(), "Complete enabled")
    page.find("#complete").click()
    page.press("5 ★")
    page.shows("#messages", "Thanks for telling us")
    page.shot("rated")

    # The support case has no post; the board looks it up as staff: its history and her rating.
    number = re.findall(r"Case #(\d+) opened", page.text_of("#messages"))[-1]
    page.find('[data-tab="cases"]').click()
    page.shows("#case-details", "As Mod sees it")  # opening the board asks for the open cases (/cases)
    page.until(lambda: page.find("#board form.lookup input").send_keys(number) or True, "the case lookup")
    page.click("#board form.lookup button")
    page.shows("#case-details", "Rating")
    page.shows("#case-details", "★★★★★")
    page.shows("#case-details", "History")
    page.shot("case-history")
    page.find('[data-tab="chat"]').click()


def test_a_member_files_a_bug_with_a_screenshot_and_staff_triage_it(page: Page, tmp_path: Path) -> None:
    page.open("bob")
    page.channel("general")
    page.slash("bug")
    page.fill_modal(
        {
            "title": "Raid lobby freezes",
            "what_happened": "The lobby froze at 0:01",
            "steps": "1. Join a raid\n2. Wait",
            "expected_actual": "Battle vs frozen screen",
        },
        files={"screenshot": png(tmp_path / "frozen-lobby.png")},
    )
    page.shot("bug-form")
    page.submit_modal()
    page.shows("#messages", "filed as")
    page.shot("filed")

    page.channel("bug-report")
    page.shows("#messages", "Raid lobby freezes")
    # The screenshot is shown, and loads from the CDN (its real width, not a broken image's 0).
    newest_image_width = "return [...document.querySelectorAll('#messages .embed-image')].pop()?.naturalWidth"
    page.until(lambda: page.driver.execute_script(newest_image_width) == 64, "the screenshot loaded")

    page.become("mod")
    page.choose("#messages select[data-action=select]", "triaged")
    page.shows("#messages .embed", "Triaged")  # the post's status field, not the menu
    page.shot("triaged")

    page.find('[data-tab="cases"]').click()
    page.shows("#board", "Raid lobby freezes")
    page.shows("#board", "🔎 Triaged")
    page.shot("board")
    page.find('[data-tab="chat"]').click()


def test_a_button_in_a_dm_opens_its_form_and_answers(page: Page) -> None:
    page.open("alice")
    page.slash("helpme", question="how do I trade with a friend?")
    page.shows("#messages", "This is your support chat")
    page.press("Reply")  # a button in her DM: it opens the reply form
    page.until(lambda: page.find("#overlay form.modal").is_displayed(), "the reply form")
    field = page.driver.find_elements(By.CSS_SELECTOR, "#overlay textarea, #overlay input[type=text]")[0]
    field.send_keys("the trade button is greyed out")
    page.shot("reply-form")
    page.submit_modal()
    page.shows("#messages", "the trade button is greyed out")
    page.press("End chat")
    page.shows("#messages", "ended")
    page.shot("ended")


def test_a_broken_endpoint_shows_the_interaction_failed(stack: LocalStack, page: Page) -> None:
    """The page does not hide a failure: with the interactions endpoint answering 500, pressing
    a command says so, as Discord does."""
    assert stack.discord is not None
    page.open("alice")
    working = stack.discord.interactions_url
    stack.discord.interactions_url = working.replace("/discord/interactions", "/no-such-endpoint")
    try:
        page.channel("general")
        page.slash("mycases")
        page.shows("#toast", "This interaction failed")
        page.shot("failed")
    finally:
        stack.discord.interactions_url = working
