"""The single-table key design. Every access pattern is one GetItem, Query or UpdateItem:

| item                        | pk                       | sk         | gsi1pk        | gsi1sk            |
|-----------------------------|--------------------------|------------|---------------|-------------------|
| case                        | CASE#<server>#<number>   | CASE       | REPORTER#<id> | <created>#<s>#<n> |
| case-number counter         | COUNTER#CASE#<server>    | COUNTER    |               |                   |
| server settings             | SERVER#<guild id>        | SETTINGS   |               |                   |
| case created by interaction | CASESOURCE#<interaction> | CASESOURCE |               |                   |
| idempotency record (worker) | IDEMPOTENCY#worker       | <hash>     |               |                   |
| open support session        | USER#<id>                | SESSION    |               |                   |
| same session, by Twilio SID | CONVERSATION#<sid>       | SESSION    |               |                   |
| member's attempts, a minute | RATE#<user id>           | <minute>   |               |                   |
| member of an allowed server | MEMBER#<user id>         | ACCESS     |               |                   |
| draft held for a dup. check | DRAFT#<interaction>      | DRAFT      |               |                   |
| posted announcement         | ANNOUNCEMENT#<id>        | ANNOUNCEMENT |             |                   |
| /announce draft             | ANNOUNCEDRAFT#<interaction> | DRAFT   |               |                   |
| scheduled announcement      | SCHEDULEDANN#<server>    | <id>       |               |                   |
| followed feed               | FEEDS#<server>           | <feed id>  |               |                   |
| feed entry posted or passed | FEEDSEEN#<feed id>       | <digest>   |               |                   |
| announcement under review   | REVIEW#<id>              | REVIEW     |               |                   |
| posts of a job that failed  | JOBPOSTS#<job key>       | POSTS      |               |                   |

Cases also carry ``gsi2pk = CASES#<server>#<status>``, ``gsi2sk = <number:010>``: a server's
cases of one status (``/cases``) are one Query on gsi2. ``<server>`` is the Discord guild id
(cases are numbered per server). Scheduled announcements carry ``gsi2pk =
SCHEDULED_ANNOUNCEMENTS``, ``gsi2sk = <post at:012>#<server>#<id>``: the scheduler's "what is
due" is one Query on gsi2, and ``/announce list`` one Query on the server's partition. Feeds not
paused carry ``gsi2pk = FEEDS_DUE``, ``gsi2sk = <next poll:012>#<server>#<id>`` likewise; seen
entries expire after 400 days.

``<minute>`` is whole minutes since the epoch. Idempotency records, rate-limit counters, membership
answers, held drafts and a failed job's posts carry ``expires_at`` (epoch seconds, the table's TTL).
A held draft is a /bug or /new_feature report waiting while its member says whether it is one of the
open cases offered (``<interaction>`` is the submit's id); it is kept a day. Case-source markers are
kept: they tie a case to the interaction that filed it. A posted announcement (``<id>`` the
announcement id of its job) records its message and whether it was published to following servers;
it is kept, so a retried job never posts it twice. An /announce draft (``<interaction>`` the form
submit's id) holds the form, its author and which Post press used it; it is kept a day. A review
(``<id>`` the announcement id) holds a feed entry's or webhook post's payload while staff decide,
and then who decided it, by which press; it is kept, so a late press is told who decided. The posts
of a job that failed (``<job key>`` the job's key) name the Discord messages its attempts posted, so
that its retry does not post them again; they are kept two days (a job's retries end well within
one).
"""

CASE_SORT_KEY = "CASE"
REPORTER_INDEX = "gsi1"
STATUS_INDEX = "gsi2"


def case_key(server: str, number: int) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CASE#{server}#{number}"}, "sk": {"S": CASE_SORT_KEY}}


def case_counter_key(server: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"COUNTER#CASE#{server}"}, "sk": {"S": "COUNTER"}}


def status_partition(server: str, status: str) -> str:
    return f"CASES#{server}#{status}"


def status_sort(number: int) -> str:
    return f"{number:010d}"


def server_settings_key(guild_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"SERVER#{guild_id}"}, "sk": {"S": "SETTINGS"}}


def case_source_key(source_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CASESOURCE#{source_id}"}, "sk": {"S": "CASESOURCE"}}


def reporter_partition(user_id: str) -> str:
    return f"REPORTER#{user_id}"


LEGACY_REPORTER_SORT_PREFIX = "CASE#"


def reporter_sort(created_at: str, server: str, number: int) -> str:
    # ISO timestamps sort as strings: newest first across every server the member reported in.
    return f"{created_at}#{server}#{number:010d}"


def member_session_key(user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "SESSION"}}


def conversation_key(conversation_sid: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CONVERSATION#{conversation_sid}"}, "sk": {"S": "SESSION"}}


def rate_limit_key(user_id: str, epoch_minute: int) -> dict[str, dict[str, str]]:
    """The counter of a member's attempts in one fixed minute (minutes since the epoch)."""
    return {"pk": {"S": f"RATE#{user_id}"}, "sk": {"S": str(epoch_minute)}}


def membership_key(user_id: str) -> dict[str, dict[str, str]]:
    """Whether a member who writes from the bot's DMs belongs to an allowed server."""
    return {"pk": {"S": f"MEMBER#{user_id}"}, "sk": {"S": "ACCESS"}}


def pending_draft_key(draft_id: str) -> dict[str, dict[str, str]]:
    """A report held while its member says whether it duplicates an open case (``draft_id``
    is the id of the interaction that submitted it)."""
    return {"pk": {"S": f"DRAFT#{draft_id}"}, "sk": {"S": "DRAFT"}}


def announcement_key(announcement_id: str) -> dict[str, dict[str, str]]:
    """A posted announcement: its message, and whether it was published (crossposted)."""
    return {"pk": {"S": f"ANNOUNCEMENT#{announcement_id}"}, "sk": {"S": "ANNOUNCEMENT"}}


def announcement_draft_key(draft_id: str) -> dict[str, dict[str, str]]:
    """An /announce form waiting for its author's Post (``draft_id``: the submit's id)."""
    return {"pk": {"S": f"ANNOUNCEDRAFT#{draft_id}"}, "sk": {"S": "DRAFT"}}


SCHEDULED_ANNOUNCEMENTS_PARTITION = "SCHEDULED_ANNOUNCEMENTS"


def scheduled_announcement_key(server: str, announcement_id: str) -> dict[str, dict[str, str]]:
    """An announcement waiting for its time; removed once posted or cancelled."""
    return {"pk": {"S": scheduled_announcements_partition(server)}, "sk": {"S": announcement_id}}


def scheduled_announcements_partition(server: str) -> str:
    return f"SCHEDULEDANN#{server}"


def scheduled_announcement_sort(post_at: int, server: str, announcement_id: str) -> str:
    return f"{post_at:012d}#{server}#{announcement_id}"


def review_key(announcement_id: str) -> dict[str, dict[str, str]]:
    """An announcement waiting for (or past) a staff decision, before it is posted."""
    return {"pk": {"S": f"REVIEW#{announcement_id}"}, "sk": {"S": "REVIEW"}}


FEEDS_DUE_PARTITION = "FEEDS_DUE"


def feeds_partition(server: str) -> str:
    return f"FEEDS#{server}"


def feed_key(server: str, feed_id: str) -> dict[str, dict[str, str]]:
    """A followed feed: its settings and its poll state."""
    return {"pk": {"S": feeds_partition(server)}, "sk": {"S": feed_id}}


def feed_due_sort(next_poll_at: int, server: str, feed_id: str) -> str:
    return f"{next_poll_at:012d}#{server}#{feed_id}"


def feed_seen_key(feed_id: str, digest: str) -> dict[str, dict[str, str]]:
    """An entry of a feed that was posted or passed over (``digest``: entry_key_digest)."""
    return {"pk": {"S": f"FEEDSEEN#{feed_id}"}, "sk": {"S": digest}}


def job_posts_key(job_key: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"JOBPOSTS#{job_key}"}, "sk": {"S": "POSTS"}}
