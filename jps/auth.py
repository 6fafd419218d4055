"""Officer tokens: HS256 JWTs signed with `JPS_JWT_SECRET`.

Claims (DESIGN.md, "Auth"): `sub` (officer id), `name`, `roles` (list), `regions` (list of `*`,
2-digit province or 4-digit regency prefixes), `iat` and `exp` (both required), `iss` (always
`jps-flow`, required) and `ver`, the officer's token version in the directory (a token of an older
version is refused by the API). A lifetime (`exp` - `iat`) is capped at `MAX_TTL`, when minting and
again on every token decoded: a token signed elsewhere with the key (a script, a leaked key's holder)
cannot live longer than one we mint, and PyJWT refuses an `iat` in the future. A token whose claims
do not describe a real officer (an unknown role, a malformed region) is as bad as a wrong signature:
`decode_token` refuses it.

A token that passed every check is remembered (`_VERIFIED`, bounded) until its `exp`, so an officer's
next requests skip the signature and claim checks (profiled, 4 % of the API's CPU under the bench);
an expired one is refused as before, and the API still looks the officer up in the directory on every
request (a revoked or deactivated officer is refused at once).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from jps.domain.models import Officer
from jps.domain.roles import NATIONAL, Role

ALGORITHM = "HS256"
ISSUER = "jps-flow"
MAX_TTL = timedelta(hours=12)
_REGION_SCOPE_RE = re.compile(r"^(\d{2}|\d{4})$")
_VERIFIED_MAX = 4096  # tokens remembered at most (the least recently used go first)
# (secret, token) -> (its officer, its version, its exp as a Unix time)
_VERIFIED: OrderedDict[tuple[str, str], tuple[Officer, int, int]] = OrderedDict()


class TokenError(Exception):
    """The token is missing, expired, badly signed or carries claims we cannot trust."""


def mint_token(
    secret: str,
    *,
    officer_id: str,
    roles: Sequence[Role | str],
    regions: Sequence[str],
    name: str = "",
    ttl: timedelta = MAX_TTL,
    now: datetime | None = None,
    version: int = 1,
) -> str:
    issued = now or datetime.now(UTC)
    ttl = min(ttl, MAX_TTL)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": officer_id,
        "ver": version,
        "name": name or officer_id,
        "roles": [Role(r).value for r in roles],
        "regions": list(regions),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    _check_regions(claims["regions"])
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> Officer:
    return decode_claims(token, secret)[0]


def decode_claims(token: str, secret: str) -> tuple[Officer, int]:
    """The officer the token names (its claims' roles and regions) and its token version."""
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is not None:
        officer, version, exp = known
        if time.time() < exp:
            _VERIFIED.move_to_end(key)
            return _fresh(officer), version
        del _VERIFIED[key]
        raise TokenError("Signature has expired")
    officer, version, exp = _verify(token, secret)
    _VERIFIED[key] = (officer, version, exp)
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return _fresh(officer), version


def _fresh(officer: Officer) -> Officer:
    """A copy the caller may change without changing the remembered one."""
    return officer.model_copy(update={"roles": list(officer.roles), "regions": list(officer.regions)})


def _verify(token: str, secret: str) -> tuple[Officer, int, int]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from None
    _check_lifetime(claims["iat"], claims["exp"])
    roles = claims.get("roles")
    regions = claims.get("regions")
    if not isinstance(roles, list) or not isinstance(regions, list) or not claims["sub"]:
        raise TokenError("token claims must include sub, roles (list) and regions (list)")
    try:
        parsed_roles = [Role(r) for r in roles]
    except ValueError:
        raise TokenError(f"unknown role in token: {roles}") from None
    _check_regions(regions)
    version = claims.get("ver", 1)
    if not isinstance(version, int):
        raise TokenError("token claim ver must be an integer")
    officer = Officer(
        id=str(claims["sub"]), name=str(claims.get("name") or ""), roles=parsed_roles, regions=regions
    )
    return officer, version, int(claims["exp"])


def _check_lifetime(issued: object, expires: object) -> None:
    """PyJWT checked the times (and took a number in a string); the cap, and real numbers, are ours."""
    if _seconds(expires, "exp") - _seconds(issued, "iat") > MAX_TTL.total_seconds():
        raise TokenError(f"token lifetime (exp - iat) is longer than {MAX_TTL}")


def _seconds(value: object, claim: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(f"token claim {claim} must be a number")
    return float(value)


def _check_regions(regions: Sequence[object]) -> None:
    for region in regions:
        if not isinstance(region, str) or not (region == NATIONAL or _REGION_SCOPE_RE.match(region)):
            raise TokenError(f"region scope {region!r} must be '*', 2 or 4 digits")
