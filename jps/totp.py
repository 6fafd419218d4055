"""TOTP (RFC 6238 on RFC 4226's HOTP): 30-second steps, six digits, HMAC-SHA1, the parameters every
authenticator app assumes. Pure: the secret is handed in (infra/officers.py keeps it sealed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from urllib.parse import quote

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """A fresh 160-bit secret, base32 without padding (what authenticator apps take)."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def hotp(secret: str, counter: int) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**DIGITS
    return str(code).zfill(DIGITS)


def totp(secret: str, at: float | None = None) -> str:
    return hotp(secret, int((time.time() if at is None else at) // STEP_S))


def verify(secret: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """True when `code` is the code of the current step or of `window` steps either side (clock drift)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == DIGITS):
        return False
    step = int((time.time() if at is None else at) // STEP_S)
    return any(hmac.compare_digest(hotp(secret, step + d), code) for d in range(-window, window + 1))


def provisioning_uri(secret: str, account: str, issuer: str = "JPS Flow") -> str:
    return (
        f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_S}"
    )
