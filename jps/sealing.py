"""Sealing what Temporal stores: a payload codec (AES-256-GCM) under keys with ids, and the data
converter every client and worker uses. Pure: the keys are handed in (infra/payload_keys.py reads them
from the settings or a file).

A sealed payload is the whole original `Payload` (its metadata and data) encrypted, so its encoding
and the values inside it leave Temporal's history unreadable:

    metadata: {encoding: binary/encrypted, encryption-key-id: <kid>}
    data:     12-byte nonce || AES-GCM(ciphertext || tag), the key id as associated data

The first key seals; every key opens, so a key is rotated by putting the new one first and keeping
the old ones for as long as histories sealed with them live. A payload without the `binary/encrypted`
encoding was written before the codec (or by a client without it) and passes through as it is: the
recorded histories and the groups that were running when the codec arrived go on.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

# The payload converter only. Every client and worker adds the sealing codec to it
# (`sealed_converter`, keys from `infra.payload_keys.data_converter`): use that.
DATA_CONVERTER = pydantic_data_converter

ENCODING = b"binary/encrypted"
KEY_ID_FIELD = "encryption-key-id"
KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PayloadKeyError(ValueError):
    """A key set that cannot seal (empty, malformed, a key of the wrong length), or a sealed payload
    no key opens."""


@dataclasses.dataclass(frozen=True)
class PayloadKeys:
    """Key id to 32-byte key, in order: the first seals, all open."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise PayloadKeyError("no payload key")
        seen: set[str] = set()
        for kid, key in self.keys:
            if not _KID.match(kid):
                raise PayloadKeyError(f"payload key id {kid!r}: use letters, digits, '.', '_' or '-'")
            if kid in seen:
                raise PayloadKeyError(f"payload key id {kid!r} given twice")
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key {kid!r}: {len(key)} bytes, {KEY_BYTES} needed")
            seen.add(kid)

    @property
    def active(self) -> str:
        return self.keys[0][0]

    @classmethod
    def parse(cls, text: str) -> PayloadKeys:
        """`kid1:base64key,kid2:base64key` (commas or newlines between entries; `#` starts a comment
        line), the form of `JPS_PAYLOAD_KEYS` and of a key file."""
        entries: list[tuple[str, bytes]] = []
        for raw in re.split(r"[,\n]", text):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            kid, sep, encoded = entry.partition(":")
            if not sep:
                raise PayloadKeyError("a payload key entry is KID:BASE64KEY")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise PayloadKeyError(f"payload key {kid.strip()!r} is not base64") from None
            entries.append((kid.strip(), key))
        return cls(tuple(entries))

    @staticmethod
    def generate_entry(kid: str) -> str:
        """A new `kid:base64key` entry (32 random bytes)."""
        return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"

    def format(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys)


class SealingCodec(PayloadCodec):
    """AES-GCM over whole payloads; plain (legacy) payloads decode as they are."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._active = keys.active
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        kid = self._active.encode()
        sealed = self._ciphers[self._active].encrypt(nonce, payload.SerializeToString(), kid)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_FIELD: kid}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec: plain
        kid = payload.metadata.get(KEY_ID_FIELD, b"").decode()
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise PayloadKeyError(f"no payload key {kid!r} to open this payload (rotated out too early?)")
        try:
            plain = cipher.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"payload sealed under {kid!r} does not open (altered, or another key)"
            ) from None
        opened = Payload()
        opened.ParseFromString(plain)
        return opened

    @staticmethod
    def is_sealed(payloads: Iterable[Payload]) -> bool:
        return all(p.metadata.get("encoding") == ENCODING for p in payloads)


def sealed_converter(keys: PayloadKeys) -> DataConverter:
    """The pydantic converter with the codec. Failures' messages and stack traces are encoded too
    (`DefaultFailureConverterWithEncodedAttributes`), so an error text naming a person is sealed with
    the rest; the SDK restores them on decoding, so callers see the same exceptions."""
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=SealingCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
