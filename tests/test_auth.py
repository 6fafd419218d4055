"""Officer tokens (`jps.auth`): `iat` and `exp` are required and a token may not live longer than
`MAX_TTL`, the cap `mint_token` applies, whoever signed it (issue 11: "their lifetime is capped")."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from jps.auth import ISSUER, MAX_TTL, TokenError, decode_claims, mint_token
from jps.domain.roles import Role

SECRET = "a-test-secret-of-at-least-32-bytes-long"
CAP = int(MAX_TTL.total_seconds())


def _signed(**claims: Any) -> str:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "verifier-1",
        "ver": 1,
        "roles": ["verifier"],
        "regions": ["31"],
        "iat": now,
        "exp": now + 3600,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def test_a_minted_token_lives_at_most_the_cap_and_decodes() -> None:
    token = mint_token(
        SECRET, officer_id="verifier-1", roles=[Role.VERIFIER], regions=["31"], ttl=MAX_TTL * 3
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == CAP
    officer, version = decode_claims(token, SECRET)
    assert officer.id == "verifier-1" and version == 1
    now = int(time.time())
    decode_claims(_signed(iat=now - 60, exp=now - 60 + CAP), SECRET)  # exactly the cap


@pytest.mark.parametrize(
    ("iat", "exp", "reason"),
    [  # seconds from now; None: the claim left out
        (None, 3600, "iat"),
        (0, None, "exp"),
        (0, CAP + 1, "longer than"),
        (-60, CAP - 59, "longer than"),
        (0, 4102444800 - int(time.time()), "longer than"),  # the year 2100
        (3600, 7200, "not yet valid"),
        ("0", 3600, "must be a number"),
        (0, "3600", "must be a number"),
    ],
)
def test_a_token_without_iat_or_exp_or_living_longer_than_the_cap_is_refused(
    iat: int | str | None, exp: int | str | None, reason: str
) -> None:
    now = int(time.time())

    def at(offset: int | str | None) -> int | str | None:
        if isinstance(offset, str):  # a number in a string, which PyJWT itself takes
            return str(now + int(offset))
        return None if offset is None else now + offset

    with pytest.raises(TokenError, match=reason):
        decode_claims(_signed(iat=at(iat), exp=at(exp)), SECRET)


def test_a_remembered_token_is_still_refused_once_expired_and_its_officer_is_a_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = int(time.time())
    token = _signed(iat=now - 10, exp=now + 30)
    first, _ = decode_claims(token, SECRET)
    first.roles.append(Role.SUPERVISOR)  # a caller changing its copy changes nothing remembered
    again, version = decode_claims(token, SECRET)
    assert again.roles == [Role.VERIFIER] and version == 1
    with pytest.raises(TokenError):
        decode_claims(token, SECRET + "-another-key")  # remembered under its key only
    monkeypatch.setattr(time, "time", lambda: now + 31.0)
    with pytest.raises(TokenError, match="expired"):
        decode_claims(token, SECRET)
