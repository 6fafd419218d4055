"""Evidence files (bukti) as officers see them: the answer to an upload, and a group's list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import example_config
from jps.domain.files import ContentType, EvidencePurpose

_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


class FileUploadedOut(BaseModel):
    """What an upload answers (201): the id to cite in an LPJ line or a muster roll, and the hash."""

    model_config = example_config(
        file_id="F-01J9Z6Q0K8V3M4N5P6R7S8T9VW",
        sha256=_SHA,
        size=48213,
        content_type="image/jpeg",
        purpose="receipt",
    )
    file_id: str
    sha256: str = Field(description="SHA-256 of the bytes, lowercase hex: the same bytes, the same hash")
    size: int = Field(description="Bytes")
    content_type: ContentType = Field(description="Detected from the bytes, not from the name")
    purpose: EvidencePurpose


class FileOut(FileUploadedOut):
    """One uploaded file of a group, without its bytes (`GET /files/{file_id}` gives those)."""

    model_config = example_config(
        file_id="F-01J9Z6Q0K8V3M4N5P6R7S8T9VW",
        group_id="TKM-3171-AB12CD34EF",
        sha256=_SHA,
        size=48213,
        content_type="image/jpeg",
        purpose="goods_photo",
        lat=-6.2088,
        lon=106.8456,
        captured_at="2020-11-02T09:30:00+07:00",
        original_name="mesin jahit.jpg",
        uploaded_by="mentor-31",
        uploaded_at="2020-11-02T10:02:11+07:00",
    )
    group_id: str
    lat: float | None = Field(None, description="Where a photo was taken (WGS 84), when given")
    lon: float | None = None
    captured_at: datetime | None = Field(None, description="When a photo was taken, as the device said")
    original_name: str = Field(description="The uploaded file's name, sanitised; shown, never trusted")
    uploaded_by: str
    uploaded_at: datetime
