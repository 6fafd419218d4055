"""The Temporal codec-server protocol (what the Temporal UI posts to `/codec/decode`): payloads in
protobuf JSON form, metadata values and data base64."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict, description="name to base64 value")
    data: str = Field("", description="base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(max_length=1000)
