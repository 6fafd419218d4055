"""Evidence files (bukti): what an officer may upload for a group (a receipt, a photo of the goods
bought, a photo of a worksite), and the checks every upload passes before it is stored. Pure: the
type comes from the bytes' magic numbers, never from the name or the client's declared type, so a
script renamed `kwitansi.pdf` is refused.

The stores that keep the bytes are `infra.filestore`; the rows that describe them, `files`
(migrations/007_files.sql)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from enum import StrEnum


class EvidencePurpose(StrEnum):
    """Why a file was uploaded: the LPJ's receipts (kwitansi) and photos of the goods bought, the
    Padat Karya muster roll's photos of the worksite."""

    RECEIPT = "receipt"
    GOODS_PHOTO = "goods_photo"
    WORKSITE_PHOTO = "worksite_photo"


class ContentType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    PDF = "application/pdf"


# The signatures at offset 0: JPEG's SOI marker followed by the first marker's 0xFF, PNG's eight-byte
# signature, PDF's header (the specification allows it within the first 1024 bytes; what we accept
# starts with it, as every scanner and phone writes it).
_MAGIC: tuple[tuple[bytes, ContentType], ...] = (
    (b"\xff\xd8\xff", ContentType.JPEG),
    (b"\x89PNG\r\n\x1a\n", ContentType.PNG),
    (b"%PDF-", ContentType.PDF),
)

ACCEPTED = ", ".join(c.value for c in ContentType)


def sniff_content_type(data: bytes) -> ContentType | None:
    """The type the bytes are, by their magic number; None for anything but JPEG, PNG or PDF."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    return None


class FileRefused(ValueError):
    """An upload that may not be stored. `too_large` is a 413 at the API, the others a 422; the
    field is always `file`."""

    def __init__(self, kind: str, reason: str, field: str = "file") -> None:
        super().__init__(f"{field}: {reason}")
        self.kind = kind  # empty | too_large | type
        self.reason = reason
        self.field = field


def check_evidence(data: bytes, *, max_bytes: int) -> ContentType:
    """The file's type, or FileRefused: empty, over `max_bytes`, or not a JPEG, PNG or PDF."""
    if not data:
        raise FileRefused("empty", "the file is empty")
    if len(data) > max_bytes:
        raise FileRefused("too_large", f"the file is larger than {max_bytes} bytes")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise FileRefused("type", f"the file's content is not one of {ACCEPTED}")
    return content_type


ORIGINAL_NAME_MAX = 200
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


def sanitize_name(name: str | None) -> str:
    """A client's file name as we keep it: the last path segment, no control or shell-special
    characters, at most `ORIGINAL_NAME_MAX` characters. Only ever shown, never used as a path."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    return base[:ORIGINAL_NAME_MAX]


# Crockford's base32 (no I, L, O, U): ids read aloud over the phone stay unambiguous.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FILE_ID_PATTERN = r"^F-[0-9A-HJKMNP-TV-Z]{26}$"


def new_file_id() -> str:
    """`F-` and 26 random characters (130 bits): unguessable, so an id alone reveals nothing."""
    return "F-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
