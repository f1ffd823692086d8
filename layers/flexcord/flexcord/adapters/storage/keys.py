"""The single-table key design. Every access pattern is one GetItem, Query or UpdateItem:

| item                        | pk                       | sk         | gsi1pk        | gsi1sk            |
|-----------------------------|--------------------------|------------|---------------|-------------------|
| case                        | CASE#<number>            | CASE       | REPORTER#<id> | CASE#<number:010> |
| case-number counter         | COUNTER#CASE             | COUNTER    |               |                   |
| case created by interaction | CASESOURCE#<interaction> | CASESOURCE |               |                   |
| idempotency record (worker) | IDEMPOTENCY#worker       | <hash>     |               |                   |
| open support session        | USER#<id>                | SESSION    |               |                   |
| same session, by Twilio SID | CONVERSATION#<sid>       | SESSION    |               |                   |
| member's attempts, a minute | RATE#<user id>           | <minute>   |               |                   |
| member of an allowed server | MEMBER#<user id>         | ACCESS     |               |                   |

``<minute>`` is whole minutes since the epoch. Idempotency records, rate-limit counters and
membership answers carry ``expires_at`` (epoch seconds, the table's TTL). Case-source markers are
kept: they tie a case to the interaction that filed it.
"""

CASE_SORT_KEY = "CASE"
COUNTER_KEY = {"pk": {"S": "COUNTER#CASE"}, "sk": {"S": "COUNTER"}}
REPORTER_INDEX = "gsi1"


def case_key(number: int) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CASE#{number}"}, "sk": {"S": CASE_SORT_KEY}}


def case_source_key(source_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CASESOURCE#{source_id}"}, "sk": {"S": "CASESOURCE"}}


def reporter_partition(user_id: str) -> str:
    return f"REPORTER#{user_id}"


def reporter_sort(number: int) -> str:
    # Zero-padded so the string sort key orders cases by number.
    return f"CASE#{number:010d}"


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
