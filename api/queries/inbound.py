"""The once-only record of members' inbound SMS (`inbound_messages`): each gateway message id is
taken once, given back when its handler fails (so the gateway's retry tries again), and marked with
the handler that consumed it. The handlers and the dispatch are `api/inbound.py`."""

from __future__ import annotations

from datetime import datetime

from api.queries.common import Db


async def claim_message(db: Db, *, message_id: str, received_at: datetime, from_masked: str) -> bool:
    """True when this message id is new (now taken); False for a duplicate or a replay."""
    taken = await db.fetchval(
        """INSERT INTO inbound_messages (message_id, received_at, from_masked) VALUES ($1, $2, $3)
           ON CONFLICT (message_id) DO NOTHING RETURNING true""",
        message_id,
        received_at,
        from_masked,
    )
    return bool(taken)


async def release_message(db: Db, *, message_id: str) -> None:
    await db.execute("DELETE FROM inbound_messages WHERE message_id = $1", message_id)


async def handled_by(db: Db, *, message_id: str) -> str | None:
    value: str | None = await db.fetchval(
        "SELECT handled_by FROM inbound_messages WHERE message_id = $1", message_id
    )
    return value


async def mark_handled(db: Db, *, message_id: str, handler: str) -> None:
    await db.execute(
        "UPDATE inbound_messages SET handled_by = $2, outcome = $3 WHERE message_id = $1",
        message_id,
        handler,
        {"handler": handler},
    )
