"""The officer directory's one writer (table `officers`, migrations/006_officers.sql): the API's
`/officers` routes and sign-in, `jps officer …`, the local stack's demo officers and the tests' token
helpers all change officers through the functions here.

Passwords are kept as argon2id hashes; a TOTP secret is sealed with AES-256-GCM under a key derived
from `JPS_TOTP_SEAL_KEY`, the officer's id as associated data (a sealed secret copied to another
row does not open). Every change an admin makes is audited with the admin's id; a change of roles,
regions, active or password bumps `token_version`, which ends every token minted before it.
`ensure_officer` (tests, the chaos run, the bench, `jps dev`'s demo officers) upserts without audit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.audit import append_audit, append_officer_audit
from jps.domain.models import Officer
from jps.domain.roles import Role

_hasher = PasswordHasher()  # argon2id, the library's (RFC 9106) defaults
# A hash to verify against when the officer is unknown, so a wrong name costs what a wrong password does.
_DUMMY_HASH = _hasher.hash("no such officer")

COLUMNS = (
    "id, name, roles, regions, active, password_hash, failed_attempts, locked_until, token_version,"
    " totp_sealed, created_at, updated_at"
)


@dataclass(frozen=True)
class OfficerRecord:
    id: str
    name: str
    roles: list[Role]
    regions: list[str]
    active: bool
    password_hash: str | None
    failed_attempts: int
    locked_until: datetime | None
    token_version: int
    totp_sealed: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> OfficerRecord:
        values = dict(row)
        values["roles"] = [Role(r) for r in row["roles"] if r in Role._value2member_map_]
        values["regions"] = list(row["regions"])
        return cls(**values)

    def officer(self) -> Officer:
        return Officer(id=self.id, name=self.name, roles=self.roles, regions=self.regions)


class OfficerExists(ValueError):
    pass


class OfficerNotFound(LookupError):
    pass


# ---- passwords and second factors ----


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _seal_key(seal_key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(seal_key.encode()).digest())


def seal_totp(seal_key: str, officer_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _seal_key(seal_key).encrypt(nonce, secret.encode(), officer_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def pending_aad(officer_id: str) -> str:
    """The associated data of a secret offered for enrolment (sealed into the console's form): it
    cannot pass for an enrolled one."""
    return f"{officer_id}#pending"


def open_totp(seal_key: str, officer_id: str, sealed: str) -> str | None:
    """The secret, or None when it does not open (another key, another officer's row)."""
    try:
        raw = base64.b64decode(sealed)
        return _seal_key(seal_key).decrypt(raw[:12], raw[12:], officer_id.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return None


# ---- reads the writer and sign-in need ----


async def get_record(db: asyncpg.Pool | asyncpg.Connection, officer_id: str) -> OfficerRecord | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM officers WHERE id = $1", officer_id)
    return OfficerRecord.of(row) if row else None


# ---- writes ----


async def _audit(
    conn: asyncpg.Connection, actor: Officer, event: str, officer_id: str, details: dict[str, Any]
) -> None:
    await append_officer_audit(conn, actor, event, details={"officer": officer_id, **details})


async def create_officer(
    pool: asyncpg.Pool,
    *,
    actor: Officer,
    officer_id: str,
    name: str,
    roles: Sequence[Role],
    regions: Sequence[str],
    password: str | None,
    active: bool = True,
) -> OfficerRecord:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO officers (id, name, roles, regions, active, password_hash)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING {COLUMNS}""",
            officer_id,
            name,
            [Role(r).value for r in roles],
            list(regions),
            active,
            hash_password(password) if password else None,
        )
        if row is None:
            raise OfficerExists(officer_id)
        await _audit(
            conn,
            actor,
            "officer_created",
            officer_id,
            {
                "name": name,
                "roles": [Role(r).value for r in roles],
                "regions": list(regions),
                "active": active,
            },
        )
    return OfficerRecord.of(row)


async def update_officer(
    pool: asyncpg.Pool,
    *,
    actor: Officer,
    officer_id: str,
    name: str | None = None,
    roles: Sequence[Role] | None = None,
    regions: Sequence[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
    clear_second_factor: bool = False,
) -> OfficerRecord:
    """Change what is given. Roles, regions, active, a password or a cleared second factor (a lost
    phone: the officer enrols again at the next sign-in) bump the token version; a reset password
    also lifts a lock."""
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchrow(f"SELECT {COLUMNS} FROM officers WHERE id = $1 FOR UPDATE", officer_id)
        if current is None:
            raise OfficerNotFound(officer_id)
        changed: dict[str, Any] = {}
        if name is not None and name != current["name"]:
            changed["name"] = name
        if roles is not None and [Role(r).value for r in roles] != list(current["roles"]):
            changed["roles"] = [Role(r).value for r in roles]
        if regions is not None and list(regions) != list(current["regions"]):
            changed["regions"] = list(regions)
        if active is not None and active != current["active"]:
            changed["active"] = active
        if clear_second_factor and current["totp_sealed"] is not None:
            changed["second_factor_cleared"] = True
        if not changed and password is None:
            return OfficerRecord.of(current)
        bump = password is not None or bool(
            {"roles", "regions", "active", "second_factor_cleared"} & changed.keys()
        )
        row = await conn.fetchrow(
            f"""UPDATE officers SET name = $2, roles = $3, regions = $4, active = $5,
                       password_hash = COALESCE($6, password_hash),
                       failed_attempts = CASE WHEN $6 IS NULL THEN failed_attempts ELSE 0 END,
                       locked_until = CASE WHEN $6 IS NULL THEN locked_until END,
                       totp_sealed = CASE WHEN $8 THEN NULL ELSE totp_sealed END,
                       token_version = token_version + $7, updated_at = now()
                WHERE id = $1 RETURNING {COLUMNS}""",
            officer_id,
            changed.get("name", current["name"]),
            changed.get("roles", list(current["roles"])),
            changed.get("regions", list(current["regions"])),
            changed.get("active", current["active"]),
            hash_password(password) if password is not None else None,
            1 if bump else 0,
            "second_factor_cleared" in changed,
        )
        details = dict(changed)
        if password is not None:
            details["password_reset"] = True  # never the password itself
        event = "officer_deactivated" if changed.get("active") is False else "officer_changed"
        await _audit(conn, actor, event, officer_id, details)
    return OfficerRecord.of(row)


async def set_totp(pool: asyncpg.Pool, *, officer_id: str, sealed: str | None) -> None:
    """Enrol (or remove) a second factor; the officer's own act at sign-in, audited."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE officers SET totp_sealed = $2, updated_at = now() WHERE id = $1", officer_id, sealed
        )
        actor = Officer(id=officer_id, roles=[], regions=[])
        await _audit(conn, actor, "officer_totp_enrolled", officer_id, {"enrolled": sealed is not None})


async def record_sign_in(
    pool: asyncpg.Pool,
    *,
    officer_id: str,
    ok: bool,
    reason: str,
    client: str,
    max_failures: int,
    lock_s: float,
    counted: bool = True,
) -> None:
    """After a sign-in attempt: a success clears the failures, a failure counts one and locks the
    account at `max_failures` for `lock_s` seconds (an attempt while locked is not `counted`: it
    neither extends the lock nor starts the next count). Either is audited (never the password)."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        roles: list[str] = []
        if ok:
            roles = list(
                await conn.fetchval(
                    """UPDATE officers SET failed_attempts = 0, locked_until = NULL
                       WHERE id = $1 RETURNING roles""",
                    officer_id,
                )
                or []
            )
            event = "sign_in"
            details: dict[str, Any] = {"client": client}
        elif not counted:
            event = "sign_in_failed"
            details = {"client": client, "reason": reason}
        else:
            row = await conn.fetchrow(
                """UPDATE officers SET failed_attempts = failed_attempts + 1,
                          locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END
                   WHERE id = $1 RETURNING failed_attempts, locked_until""",
                officer_id,
                max_failures,
                now + timedelta(seconds=lock_s),
            )
            event = "sign_in_failed"
            details = {"client": client, "reason": reason}
            if row is not None:
                details["failed_attempts"] = row["failed_attempts"]
                if row["failed_attempts"] >= max_failures:
                    details["locked_until"] = row["locked_until"].isoformat()
                    # the count starts again once the lock has passed
                    await conn.execute("UPDATE officers SET failed_attempts = 0 WHERE id = $1", officer_id)
        await append_audit(
            conn,
            group_id=None,
            seq=None,
            at=now,
            actor=officer_id,
            actor_roles=roles,
            event=event,
            stage=None,
            details=details,
        )


async def ensure_officer(
    db: asyncpg.Pool | asyncpg.Connection,
    *,
    officer_id: str,
    roles: Sequence[Role | str],
    regions: Sequence[str],
    name: str = "",
    password: str | None = None,
) -> int:
    """Upsert an active officer with exactly these roles and regions (no audit, no version bump) and
    answer its token version: for the tests' token helpers, the chaos run, the bench and the local
    stack's demo officers, whose tokens name officers the directory must know."""
    version: int = await db.fetchval(
        """INSERT INTO officers (id, name, roles, regions, active, password_hash)
           VALUES ($1, $2, $3, $4, true, $5)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, roles = EXCLUDED.roles,
                  regions = EXCLUDED.regions, active = true,
                  password_hash = COALESCE(EXCLUDED.password_hash, officers.password_hash),
                  updated_at = now()
           RETURNING token_version""",
        officer_id,
        name or officer_id,
        [Role(r).value for r in roles],
        list(regions),
        hash_password(password) if password else None,
    )
    return version


def ensure_officer_sync(dsn: str, **kwargs: Any) -> int:
    """`ensure_officer` from synchronous code (a token helper called inside a running event loop):
    on a connection of its own, in a thread of its own."""
    result: list[int] = []
    errors: list[BaseException] = []

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            result.append(await ensure_officer(conn, **kwargs))
        finally:
            await conn.close()

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed back to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="ensure-officer")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
