"""Duplicate suggestions end to end: emulated members file /bug through the signed endpoint, the
worker ranks the server's open cases on DynamoDB (moto) and asks "Is it one of these?" in the
member's deferred reply; the member's press comes back through the endpoint and the queue."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import final_reply, table_item

FIRST = {
    "title": "Raid lobby freezes after the countdown",
    "what_happened": "When the countdown in the raid lobby reaches zero the screen freezes.",
    "steps": "1. Join a raid with friends 2. Wait for the timer to end",
    "expected_actual": "Expected the battle to start; instead I have to restart the app.",
}
SAME = {
    "title": "Game freezes when the raid countdown ends",
    "what_happened": "At the end of the raid timer my game just freezes.",
    "steps": "Join any raid lobby and wait",
    "expected_actual": "Battle should start but the game is frozen and I lose the pass.",
}
SHOP_CRASH = {
    "title": "App crashes when opening the shop",
    "what_happened": "Every time I tap the shop button the app closes and I'm back on my home screen.",
    "steps": "1. Open the main menu 2. Tap Shop",
    "expected_actual": "Expected to see the shop, the game crashes instead.",
}
SAME_SHOP_CRASH = {
    "title": "Game keeps closing when I open the store",
    "what_happened": "The app force closes when I go to the shop, every time.",
    "steps": "Main menu, shop",
    "expected_actual": "Shop should open, the game shuts down instead.",
}
BUDDY_GONE = {
    "title": "Buddy critter disappears from the map",
    "what_happened": "My buddy walks next to me for a few seconds and then vanishes from the map.",
    "steps": "1. Set a buddy 2. Walk",
    "expected_actual": "Expected the buddy to stay next to my trainer.",
}
SAME_BUDDY_GONE = {
    "title": "My buddy vanishes",
    "what_happened": "Buddy disappears after walking a bit.",
    "steps": "Walk with a buddy",
    "expected_actual": "Buddy should stay on the map.",
}
DIFFERENT = {
    "title": "Sound stops after a phone call",
    "what_happened": "After taking a call the game has no sound until I restart it.",
    "steps": "Take a call while playing",
    "expected_actual": "Expected sound to come back.",
}


def file_bug(discord: DiscordEmulator, user: str, values: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    opened = discord.run_command(user, "bug")
    assert opened.modal is not None, opened.error
    submitted = discord.submit_modal(user, opened.modal, values)
    assert submitted.response == {"type": 5, "data": {"flags": 64}}
    return submitted, final_reply(discord, submitted.token)


def filed_number(reply: dict[str, Any]) -> int:
    assert "is filed as **case #" in reply["content"], reply["content"]
    return int(reply["content"].split("case #", 1)[1].split("*", 1)[0])


def stored_case(stack: LocalStack, number: int) -> dict[str, Any]:
    assert stack.discord is not None
    case = table_item(stack, f"CASE#{stack.discord.guild_id}#{number}", "CASE")
    assert case is not None, f"no case #{number}"
    return case


def reply_saying(discord: DiscordEmulator, token: str, text: str) -> dict[str, Any]:
    """The message the interaction answered on, once it says ``text``."""

    def says() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and text in message.get("content", "") else None

    return discord.wait_for(says, timeout=20)


def bug_titles(discord: DiscordEmulator) -> list[str]:
    return [post["embeds"][0]["title"] for post in discord.messages(discord.channel_ids["bug-report"])]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [button["custom_id"] for row in message.get("components", []) for button in row["components"]]


def test_a_member_reporting_an_open_bug_is_counted_on_it_and_a_different_bug_is_filed(
    stack: LocalStack,
) -> None:
    discord = stack.discord
    assert discord is not None
    for user in ("dana", "erik", "fay"):
        discord.add_user(user)
    number = filed_number(file_bug(discord, "dana", FIRST)[1])

    # erik reports the same freeze in his own words: he is asked first, nothing is filed yet.
    submitted, question = file_bug(discord, "erik", SAME)
    draft_id = submitted.interaction["id"]
    assert question["content"].startswith("🔎 **Is it one of these?**")
    assert f"• **#{number}** {FIRST['title']}" in question["content"]
    assert question["flags"] & 64  # only erik sees it
    assert custom_ids(question) == [f"dupe:pick:{draft_id}:{number}", f"dupe:file:{draft_id}"]
    assert not any(SAME["title"] in title for title in bug_titles(discord))
    held = table_item(stack, f"DRAFT#{draft_id}", "DRAFT")
    assert held is not None
    assert held["expires_at"] > time.time() + 23 * 3600

    pressed = discord.click("erik", question, f"dupe:pick:{draft_id}:{number}")
    assert pressed.response == {"type": 6}
    counted = reply_saying(discord, pressed.token, "You're now counted on")
    assert counted["content"].startswith(f"👍 You're now counted on **#{number}** “{FIRST['title']}”")
    assert counted["id"] == question["id"]  # the question became the answer
    assert custom_ids(counted) == []
    erik = discord.user_id("erik")
    case = stored_case(stack, number)
    assert case["supporters"] == [erik]
    assert [e["event_id"] for e in case["history"] if e["action"] == "supporters_added"] == [
        pressed.interaction["id"]
    ]

    # The same press delivered twice, and a second press on the button: counted once.
    body = json.dumps(pressed.interaction).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    again = {**pressed.interaction, "id": str(int(pressed.interaction["id"]) + 7)}
    body = json.dumps(again).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    time.sleep(2.5)  # give a duplicate job every chance to run
    case = stored_case(stack, number)
    assert case["supporters"] == [erik]
    assert [e["action"] for e in case["history"]].count("supporters_added") == 1
    assert not any(SAME["title"] in title for title in bug_titles(discord))

    # fay reports something else: filed at once, no question.
    _, reply = file_bug(discord, "fay", DIFFERENT)
    other = filed_number(reply)
    assert other > number
    assert stored_case(stack, other)["title"] == DIFFERENT["title"]
    assert bug_titles(discord)[-1].endswith(DIFFERENT["title"])


def test_no_file_mine_files_one_case_and_another_members_crafted_press_changes_nothing(
    stack: LocalStack,
) -> None:
    discord = stack.discord
    assert discord is not None
    for user in ("gus", "hana", "mallory"):
        discord.add_user(user)
    number = filed_number(file_bug(discord, "gus", SHOP_CRASH)[1])
    submitted, question = file_bug(discord, "hana", SAME_SHOP_CRASH)
    draft_id = submitted.interaction["id"]
    assert f"dupe:pick:{draft_id}:{number}" in custom_ids(question)

    # mallory gets her own question, and crafts its button to answer hana's instead.
    _, hers = file_bug(discord, "mallory", SAME_SHOP_CRASH)
    own = discord.click("mallory", hers, custom_ids(hers)[-1])  # "No, file mine" on her own: fine
    reply_saying(discord, own.token, "is filed as")
    forged = {**own.interaction, "id": str(int(own.interaction["id"]) + 11)}
    forged["data"] = {**forged["data"], "custom_id": f"dupe:pick:{draft_id}:{number}"}
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    reply_saying(discord, own.token, "Only the member who wrote this report can answer for it.")
    forged["id"] = str(int(forged["id"]) + 1)
    forged["data"] = {**forged["data"], "custom_id": f"dupe:file:{draft_id}"}
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    time.sleep(2.5)
    assert discord.user_id("mallory") not in stored_case(stack, number)["supporters"]
    held = table_item(stack, f"DRAFT#{draft_id}", "DRAFT")
    assert held is not None
    assert "choice" not in held
    titles_before = bug_titles(discord)

    # hana answers "No, file mine", twice: one case, one post.
    pressed = discord.click("hana", question, f"dupe:file:{draft_id}")
    filed = reply_saying(discord, pressed.token, "is filed as")
    mine = filed_number(filed)
    assert stored_case(stack, mine)["reporter"]["username"] == "hana"
    assert stored_case(stack, mine)["source_id"] == draft_id
    again = {**pressed.interaction, "id": str(int(pressed.interaction["id"]) + 5)}
    body = json.dumps(again).encode()
    assert discord.send_raw(body, discord.sign(body)).json() == {"type": 6}
    time.sleep(2.5)
    new_posts = bug_titles(discord)[len(titles_before) :]
    assert new_posts == [f"🐞 Bug report #{mine}: {SAME_SHOP_CRASH['title']}"]
    assert stored_case(stack, number)["supporters"] == []


def test_a_question_answered_after_a_day_says_it_expired_and_changes_nothing(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    assert stack.resources is not None
    for user in ("ivo", "jun"):
        discord.add_user(user)
    number = filed_number(file_bug(discord, "ivo", BUDDY_GONE)[1])
    submitted, question = file_bug(discord, "jun", SAME_BUDDY_GONE)
    draft_id = submitted.interaction["id"]
    assert f"dupe:pick:{draft_id}:{number}" in custom_ids(question)
    # A day later: DynamoDB's TTL may not have deleted the item yet, so the worker reads the time.
    boto3.client("dynamodb").update_item(
        TableName=stack.resources.table_name,
        Key={"pk": {"S": f"DRAFT#{draft_id}"}, "sk": {"S": "DRAFT"}},
        UpdateExpression="SET expires_at = :then",
        ExpressionAttributeValues={":then": {"N": str(int(time.time()) - 1)}},
    )
    titles_before = bug_titles(discord)
    pressed = discord.click("jun", question, f"dupe:pick:{draft_id}:{number}")
    expired = reply_saying(discord, pressed.token, "This question has expired")
    assert "`/bug`" in expired["content"]
    assert custom_ids(expired) == []
    assert stored_case(stack, number)["supporters"] == []
    held = table_item(stack, f"DRAFT#{draft_id}", "DRAFT")
    assert held is not None
    assert "choice" not in held
    assert bug_titles(discord) == titles_before
