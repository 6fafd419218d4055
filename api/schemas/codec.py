"""The Temporal codec-server protocol (what the Temporal UI posts to `/codec/decode`): payloads in
protobuf JSON form, metadata values and data base64."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of


class CodecPayload(BaseModel):
    model_config = example_config(
        metadata={"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "ZGV2LTE="},
        data="q83vEjRWeJq8...",
    )

    metadata: dict[str, str] = Field(default_factory=dict, description="name to base64 value")
    data: str = Field("", description="base64")


class CodecPayloads(BaseModel):
    model_config = example_config(payloads=[example_of(CodecPayload)])

    payloads: list[CodecPayload] = Field(max_length=1000)
