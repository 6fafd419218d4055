"""Real evidence files for the tests (`tools.evidence_files`: a 1×1 baseline JPEG, a 1×1 PNG and a
one-page PDF, each valid for a decoder), so a test can upload what a phone or a scanner would.
Shared by the file store's API tests and the LPJ's and muster roll's."""

from __future__ import annotations

from tools.evidence_files import jpeg as _jpeg
from tools.evidence_files import pdf, png

__all__ = ["jpeg", "pdf", "png"]


def jpeg(grey: int = 0) -> bytes:
    """A 1×1 greyscale JPEG; `grey` (0..255) goes into its comment, so different values give
    different bytes (and hashes) of the same picture."""
    return _jpeg(f"jps test {grey}")
