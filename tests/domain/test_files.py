"""Evidence files in the core (jps/domain/files.py): the type from the bytes, never the name."""

from __future__ import annotations

import re

import pytest

from jps.domain.files import (
    FILE_ID_PATTERN,
    ORIGINAL_NAME_MAX,
    ContentType,
    EvidencePurpose,
    FileRefused,
    check_evidence,
    new_file_id,
    sanitize_name,
    sniff_content_type,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 13
PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.mark.parametrize(
    ("data", "expected"), [(JPEG, ContentType.JPEG), (PNG, ContentType.PNG), (PDF, ContentType.PDF)]
)
def test_jpeg_png_and_pdf_are_known_by_their_magic_numbers(data: bytes, expected: ContentType) -> None:
    assert sniff_content_type(data) is expected
    assert check_evidence(data, max_bytes=1024) is expected


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00",
        b"<html><script>alert(1)</script>",
        b"PK\x03\x04 a zip or a docx",
        b"MZ\x90\x00 an executable",
        b" %PDF-1.4 after a space",
        b"\xff\xd8 too short for a JPEG marker",
        b"\x89PNG\r\n but not the whole signature",
    ],
)
def test_anything_else_is_refused_naming_the_file(data: bytes) -> None:
    assert sniff_content_type(data) is None
    with pytest.raises(FileRefused) as refused:
        check_evidence(data, max_bytes=1024)
    assert refused.value.kind == "type" and refused.value.field == "file"
    assert str(refused.value).startswith("file: ")


def test_empty_and_oversized_files_are_refused() -> None:
    with pytest.raises(FileRefused) as empty:
        check_evidence(b"", max_bytes=1024)
    assert empty.value.kind == "empty"
    with pytest.raises(FileRefused) as big:
        check_evidence(PDF + b"\x00" * 1024, max_bytes=1024)
    assert big.value.kind == "too_large"
    assert check_evidence(PDF.ljust(1024, b"\x00"), max_bytes=1024) is ContentType.PDF


def test_the_purposes() -> None:
    assert {p.value for p in EvidencePurpose} == {"receipt", "goods_photo", "worksite_photo"}


def test_file_ids_are_random_and_shaped() -> None:
    ids = {new_file_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(FILE_ID_PATTERN, i) and len(i) == 28 for i in ids)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("kwitansi toko.pdf", "kwitansi toko.pdf"),
        ("C:\\Users\\ani\\foto.jpg", "foto.jpg"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc;rm -rf.png", "a_b_c_rm -rf.png"),
        ("<script>.jpg", "_script_.jpg"),
        (None, ""),
        ("...", ""),
    ],
)
def test_original_names_are_sanitised(given: str | None, kept: str) -> None:
    assert sanitize_name(given) == kept


def test_original_names_are_bounded() -> None:
    assert len(sanitize_name("x" * 5000 + ".pdf")) == ORIGINAL_NAME_MAX
