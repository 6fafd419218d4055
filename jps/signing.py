"""HMAC-SHA256 signatures on the bank's payment callbacks.

The bank signs `"{timestamp}." + body` with the shared secret (`JPS_BANK_HMAC_SECRET`) and sends
the hex digest and the timestamp in two headers. The API recomputes the digest over the raw
body it received, so anything that changes a byte of the body, or the timestamp, breaks it; the
timestamp is checked against a maximum age so that a captured callback cannot be replayed later.
The bank simulator signs with `sign`; `POST /payments/callback` checks with `verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Bank-Signature"
TIMESTAMP_HEADER = "X-Bank-Timestamp"
DEFAULT_MAX_AGE_S = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 of `"{timestamp}." + body`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers a signed callback carries (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(body, secret, ts)}


def verify(
    body: bytes,
    secret: str,
    timestamp: int | str | None,
    signature: str | None,
    max_age_s: int = DEFAULT_MAX_AGE_S,
    now: float | None = None,
) -> bool:
    """True when `signature` is ours for this exact body and timestamp, and the timestamp is fresh.

    Takes the header values as they come (strings, possibly missing) so the caller need not
    pre-validate them; anything malformed is simply not a valid signature.
    """
    if timestamp is None or not signature:
        return False
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    # Both directions: a timestamp far in the future is as suspicious as an old one.
    if abs(current - ts) > max_age_s:
        return False
    return hmac.compare_digest(sign(body, secret, ts), signature.strip().lower())


# The notification gateway's inbound SMS (`POST /inbound/sms`) are signed the same way, with their own
# secret (`JPS_SMS_HMAC_SECRET`) and headers of their own; `verify` checks them.
GATEWAY_SIGNATURE_HEADER = "X-Gateway-Signature"
GATEWAY_TIMESTAMP_HEADER = "X-Gateway-Timestamp"


def gateway_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers a signed inbound SMS carries (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {GATEWAY_TIMESTAMP_HEADER: str(ts), GATEWAY_SIGNATURE_HEADER: sign(body, secret, ts)}
