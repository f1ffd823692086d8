"""devstack.discord_markup: one parse of Discord's markup, rendered for a terminal and as HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.discord_markup import (
    MAX_NESTING,
    Directory,
    LineBreak,
    ListBlock,
    Node,
    Styled,
    Text,
    directory_from_state,
    format_timestamp,
    parse,
    to_html,
    to_terminal,
)

WHEN = 1796288892  # 2026-12-03 09:08:12 UTC, a Thursday
PLUS_TWO = timezone(timedelta(hours=2))
DIRECTORY = Directory(
    users={"1": "Alice", "66": "<b>Eve</b>"},
    channels={"2": "bug-report"},
    roles={"3": "staff", "4": "@everyone"},
    timezone=PLUS_TWO,
    now=lambda: datetime.fromtimestamp(WHEN, UTC) - timedelta(hours=2),
    dm_channels={"7": "Alice"},
)


@pytest.mark.parametrize(
    ("markup", "terminal", "html"),
    [
        # styles, nested
        ("**bold _and italic_**", "bold and italic", "<strong>bold <em>and italic</em></strong>"),
        ("***both***", "both", "<strong><em>both</em></strong>"),
        ("*a **b** c*", "a b c", "<em>a <strong>b</strong> c</em>"),
        ("__under__ ~~gone~~", "under gone", "<u>under</u> <s>gone</s>"),
        ("||secret||", "‖secret‖", '<span class="spoiler">secret</span>'),
        ("**one\ntwo**", "one\ntwo", "<strong>one<br>two</strong>"),
        ("2 * 3 * 4", "2 * 3 * 4", "2 * 3 * 4"),
        ("**not closed", "**not closed", "**not closed"),
        ("use snake_case_names", "use snake_case_names", "use snake_case_names"),
        (
            r"\*not italic\* \_nor this\_ \<@1>",
            "*not italic* _nor this_ <@1>",
            "*not italic* _nor this_ &lt;@1&gt;",
        ),
        # code is never parsed inside
        ("a `**not bold** <@1>` b", "a `**not bold** <@1>` b", "a <code>**not bold** &lt;@1&gt;</code> b"),
        ("``has ` inside``", "`has ` inside`", "<code>has ` inside</code>"),
        (
            '```py\nprint("<b>**x**</b>")\n```\nafter',
            '    print("<b>**x**</b>")\nafter',
            '<pre><code class="language-py">print(&quot;&lt;b&gt;**x**&lt;/b&gt;&quot;)</code></pre>after',
        ),
        ("```\n_one_\n\ntwo\n```", "    _one_\n\n    two", "<pre><code>_one_\n\ntwo</code></pre>"),
        # lines and blocks
        ("one\ntwo", "one\ntwo", "one<br>two"),
        (
            "> **quoted**\n> two\nafter",
            "│ quoted\n│ two\nafter",
            "<blockquote><strong>quoted</strong><br>two</blockquote>after",
        ),
        (">>> all\nthe rest", "│ all\n│ the rest", "<blockquote>all<br>the rest</blockquote>"),
        (">not a quote", ">not a quote", "&gt;not a quote"),
        (
            "# One\n## Two\n### Three\n#### four",
            "One\nTwo\nThree\n#### four",
            "<h1>One</h1><h2>Two</h2><h3>Three</h3>#### four",
        ),
        ("a # not a heading", "a # not a heading", "a # not a heading"),
        ("#nospace", "#nospace", "#nospace"),
        (
            "- a\n* b\n  - nested\n3. three\n4. four",
            "• a\n• b\n  • nested\n3. three\n4. four",
            "<ul><li>a</li><li>b<ul><li>nested</li></ul></li></ul>"
            '<ol start="3"><li>three</li><li>four</li></ol>',
        ),
        (
            "**Steps**\n1. Catch\n2. Check",
            "Steps\n1. Catch\n2. Check",
            "<strong>Steps</strong><br><ol><li>Catch</li><li>Check</li></ol>",
        ),
        ("-# small print\nnext", "small print\nnext", '<small class="subtext">small print</small><br>next'),
        # links: only http(s) become links
        (
            "[the docs](https://example.com/a_(b)) or https://example.com/x.",
            "the docs (https://example.com/a_(b)) or https://example.com/x.",
            '<a href="https://example.com/a_(b)" rel="noopener" target="_blank">the docs</a> or '
            '<a href="https://example.com/x" rel="noopener" target="_blank">https://example.com/x</a>.',
        ),
        (
            "<https://example.org/?a=1&b=2>",
            "https://example.org/?a=1&b=2",
            '<a href="https://example.org/?a=1&amp;b=2" rel="noopener" target="_blank">https://example.org/?a=1&amp;b=2</a>',
        ),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        (
            "[f](ftp://example.com) javascript:alert(1)",
            "[f](ftp://example.com) javascript:alert(1)",
            "[f](ftp://example.com) javascript:alert(1)",
        ),
        (
            '[x](https://a.example/"onmouseover="alert(1))',
            'x (https://a.example/"onmouseover="alert(1))',
            '<a href="https://a.example/&quot;onmouseover=&quot;alert(1)" '
            'rel="noopener" target="_blank">x</a>',
        ),
        # mentions and the rest of Discord's own formats
        (
            "<@1> <@!1> <@&3> <@&4> <#2> <#7>",
            "@Alice @Alice @staff @everyone #bug-report @Alice",
            '<span class="mention" data-user-id="1">@Alice</span> '
            '<span class="mention" data-user-id="1">@Alice</span> '
            '<span class="mention role" data-role-id="3">@staff</span> '
            '<span class="mention role" data-role-id="4">@everyone</span> '
            '<span class="mention channel" data-channel-id="2">#bug-report</span> '
            '<span class="mention channel" data-channel-id="7">@Alice</span>',
        ),
        (
            "<@404> <#404> <@&404>",
            "@unknown-user #unknown @deleted-role",
            '<span class="mention" data-user-id="404">@unknown-user</span> '
            '<span class="mention channel" data-channel-id="404">#unknown</span> '
            '<span class="mention role" data-role-id="404">@deleted-role</span>',
        ),
        ("<@66>", "@<b>Eve</b>", '<span class="mention" data-user-id="66">@&lt;b&gt;Eve&lt;/b&gt;</span>'),
        (
            "</case show:9> <:kek:5> <a:dance:6> @everyone",
            "/case show :kek: :dance: @everyone",
            '<span class="mention command" data-command-id="9">/case show</span> '
            '<span class="emoji" data-emoji-id="5" title=":kek:">:kek:</span> '
            '<span class="emoji" data-emoji-id="6" title=":dance:">:dance:</span> '
            '<span class="mention">@everyone</span>',
        ),
        (
            "opened <t:1796288892:R>",
            "opened in 2 hours",
            'opened <time datetime="2026-12-03T09:08:12Z" '
            'title="Thursday, December 3, 2026 at 11:08">in 2 hours</time>',
        ),
        (
            "<t:1796288892:x> <t:99999999999999999>",
            "<t:1796288892:x> <t:99999999999999999>",
            "&lt;t:1796288892:x&gt; &lt;t:99999999999999999&gt;",
        ),
        # everything else is text, escaped
        (
            "<script>alert('x')</script> & \"q\"",
            "<script>alert('x')</script> & \"q\"",
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;",
        ),
        (
            "**<img src=x onerror=alert(1)>**",
            "<img src=x onerror=alert(1)>",
            "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>",
        ),
    ],
)
def test_both_renderings(markup: str, terminal: str, html: str) -> None:
    assert to_terminal(markup, DIRECTORY) == terminal
    assert to_html(markup, DIRECTORY) == html


def test_the_tree_is_one_parse_for_both() -> None:
    assert parse("**a _b_**\n- x") == (
        Styled("bold", (Text("a "), Styled("italic", (Text("b"),)))),
        LineBreak(),
        ListBlock(ordered=False, start=1, items=((Text("x"),),)),
    )


def test_hostile_nesting_stays_shallow() -> None:
    def depth(nodes: tuple[Node, ...]) -> int:
        return max([1 + depth(n.children) if isinstance(n, Styled) else 0 for n in nodes] or [0])

    assert depth(parse("*" * 4000)) == MAX_NESTING  # not a RecursionError 1,000 levels down
    assert depth(parse("_" * 4000)) == MAX_NESTING
    assert to_terminal("*" * 4000, DIRECTORY).strip("*") == ""
    assert set(
        to_html("||" * 2000, DIRECTORY).replace('<span class="spoiler">', "").replace("</span>", "")
    ) <= {"|"}


def test_color_only_when_asked() -> None:
    markup = "**bold _it_** ~~s~~ `code` <@1>"
    assert to_terminal(markup, DIRECTORY) == "bold it s `code` @Alice"
    assert to_terminal(markup, DIRECTORY, color=True) == (
        "\x1b[1mbold \x1b[3mit\x1b[23m\x1b[22m \x1b[9ms\x1b[29m \x1b[36mcode\x1b[39m \x1b[34m@Alice\x1b[39m"
    )
    assert "\x1b" not in to_terminal("# Title\n> quote ||spoiler||", DIRECTORY)


@pytest.mark.parametrize(
    ("style", "shown"),
    [
        ("t", "11:08"),
        ("T", "11:08:12"),
        ("d", "03/12/2026"),
        ("D", "December 3, 2026"),
        ("f", "December 3, 2026 at 11:08"),
        ("", "December 3, 2026 at 11:08"),  # <t:N> alone is style f
        ("F", "Thursday, December 3, 2026 at 11:08"),
        ("s", "03/12/2026, 11:08"),
        ("S", "03/12/2026, 11:08:12"),
        ("R", "in 2 hours"),
    ],
)
def test_every_timestamp_style_in_a_fixed_time_zone(style: str, shown: str) -> None:
    assert format_timestamp(WHEN, style, DIRECTORY) == shown
    markup = f"<t:{WHEN}:{style}>" if style else f"<t:{WHEN}>"
    assert to_terminal(markup, DIRECTORY) == shown
    assert to_html(markup, DIRECTORY) == (
        f'<time datetime="2026-12-03T09:08:12Z" title="Thursday, December 3, 2026 at 11:08">{shown}</time>'
    )


def test_the_same_instant_elsewhere() -> None:
    new_york = Directory(users={}, channels={}, roles={}, timezone=timezone(timedelta(hours=-5)))
    assert format_timestamp(WHEN, "F", new_york) == "Thursday, December 3, 2026 at 04:08"
    local = Directory(users={}, channels={}, roles={})  # the machine's own time zone
    assert format_timestamp(WHEN, "T", local) == datetime.fromtimestamp(WHEN).strftime("%H:%M:%S")


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(seconds=30), "in a few seconds"),
        (timedelta(seconds=-10), "a few seconds ago"),
        (timedelta(seconds=80), "in a minute"),
        (timedelta(minutes=-5), "5 minutes ago"),
        (timedelta(minutes=50), "in an hour"),
        (timedelta(hours=2), "in 2 hours"),
        (timedelta(hours=-23), "a day ago"),
        (timedelta(days=-3), "3 days ago"),
        (timedelta(days=27), "in a month"),
        (timedelta(days=-95), "3 months ago"),
        (timedelta(days=400), "in a year"),
        (timedelta(days=-4 * 365), "4 years ago"),
    ],
)
def test_relative_style_against_an_injected_now(offset: timedelta, shown: str) -> None:
    now = datetime.fromtimestamp(WHEN, UTC) - offset
    directory = Directory(users={}, channels={}, roles={}, timezone=UTC, now=lambda: now)
    assert format_timestamp(WHEN, "R", directory) == shown


def test_format_timestamp_refuses_what_discord_does_not_render() -> None:
    with pytest.raises(ValueError, match="style"):
        format_timestamp(WHEN, "x", DIRECTORY)
    with pytest.raises(ValueError, match="range"):
        format_timestamp(10**17, "f", DIRECTORY)


def test_directory_from_a_hand_made_state() -> None:
    state = {
        "users": {
            "alice": {"id": "1", "username": "alice", "global_name": "Alice"},
            "bob": {"id": "2", "username": "bob", "global_name": None},
        },
        "bot_user": {"id": "9", "username": "flexcord", "global_name": None, "bot": True},
        "channels": {"general": {"id": "10", "name": "general"}},
        "threads": [{"id": "11", "name": "Case #1 chat"}],
        "guilds": {
            "100": {
                "id": "100",
                "roles": [{"id": "100", "name": "@everyone"}],
                "channels": {"general": "10"},
            },
            "200": {
                "id": "200",
                "roles": [{"id": "201", "name": "staff"}],
                "channels": {"general": "20", "announcements": "21"},
            },
        },
    }
    directory = directory_from_state(state)
    assert directory.users == {"1": "Alice", "2": "bob", "9": "flexcord"}
    assert directory.channels == {
        "10": "general",
        "11": "Case #1 chat",
        "20": "general",
        "21": "announcements",
    }
    assert directory.roles == {"100": "@everyone", "201": "staff"}
    assert (
        to_terminal("<@9> <#11> <#21> <@&201>", directory) == "@flexcord #Case #1 chat #announcements @staff"
    )


def test_directory_from_the_emulators_state() -> None:
    with DiscordEmulator() as discord:
        other = discord.add_guild("Second server")
        state = discord.state()
        other_support = discord.channel_ids_of(other)["support"]
        other_staff = discord.staff_role_id_of(other)
    directory = directory_from_state(state)
    alice = state["users"]["alice"]["id"]
    staff = state["staff_role_id"]
    assert (
        to_terminal(
            f"<@{alice}> <@{state['bot_user']['id']}> <#{state['channels']['bug-report']['id']}> <@&{staff}>",
            directory,
        )
        == "@Alice @flexcord #bug-report @staff"
    )
    assert directory.channels[other_support] == "support"
    assert directory.roles[other_staff] == "staff"
