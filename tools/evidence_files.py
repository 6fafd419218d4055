"""Real evidence files without an image library: a 1×1 baseline JPEG, a 1×1 PNG and a one-page PDF,
each valid for a decoder (not only their magic numbers), as a phone or a scanner would make them.
The demo seed's and the chaos run's worksite photos (`tools.work_period`), the bench's receipts and
the tests' uploads (`tests/evidence_files.py`) are these."""

from __future__ import annotations

import struct
import zlib


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(comment: str) -> bytes:
    """A 1×1 greyscale baseline JPEG, valid for a decoder (not only its magic number), without an
    image library. One Huffman code per table (DC: difference 0, AC: end of block), so the scan is
    two bits; `comment` goes into a COM segment, so different comments give different bytes (and
    hashes) of the same picture."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\x00" + bytes([1] * 64)
    sof0 = b"\x08" + struct.pack(">HH", 1, 1) + b"\x01" + b"\x01\x11\x00"
    one_code = bytes([1] + [0] * 15)  # one code of length 1
    dht_dc = b"\x00" + one_code + b"\x00"  # class 0 (DC), table 0: category 0
    dht_ac = b"\x10" + one_code + b"\x00"  # class 1 (AC), table 0: EOB
    sos = b"\x01" + b"\x01\x00" + b"\x00\x3f\x00"
    scan = b"\x3f"  # DC "0", AC EOB "0", padded with ones
    return (
        b"\xff\xd8"
        + _segment(0xE0, app0)
        + _segment(0xFE, comment.encode())
        + _segment(0xDB, dqt)
        + _segment(0xC0, sof0)
        + _segment(0xC4, dht_dc)
        + _segment(0xC4, dht_ac)
        + _segment(0xDA, sos)
        + scan
        + b"\xff\xd9"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A 1×1 truecolour PNG of this colour."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def pdf(text: str = "Kwitansi") -> bytes:
    """A one-page PDF with a cross-reference table whose offsets are right."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
