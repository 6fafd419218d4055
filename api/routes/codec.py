"""The codec endpoint the Temporal UI calls to show sealed payloads (`POST /codec/decode`, the Temporal
codec-server protocol), for signed-in auditors only, every decode audited. There is no `/codec/encode`:
nobody outside a worker or client seals payloads with our key.

The UI calls from its own origin (`TEMPORAL_UI_URL`), so this route answers that origin's CORS
preflight; the auditor's bearer token is what lets it through (the UI's "pass access token")."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from temporalio.api.common.v1 import Payload

from api.deps import Auditor, PoolDep, SettingsDep
from api.errors import AUTHED, responses
from api.queries.codec import record_decode
from api.schemas.codec import CodecPayload, CodecPayloads
from infra.payload_keys import data_converter
from jps.sealing import PayloadKeyError, SealingCodec
from jps.settings import Settings

router = APIRouter(prefix="/codec", tags=["audit"])


def _ui_origin(settings: Settings) -> str:
    parts = urlsplit(settings.temporal_ui_url)
    return f"{parts.scheme}://{parts.netloc}"


def _cors(response: Response, request: Request, settings: Settings) -> None:
    origin = request.headers.get("origin")
    if origin and origin == _ui_origin(settings):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"


def _to_proto(p: CodecPayload) -> Payload:
    try:
        return Payload(
            metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
            data=base64.b64decode(p.data, validate=True),
        )
    except (binascii.Error, ValueError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="payloads must be base64") from None


def _from_proto(p: Payload) -> CodecPayload:
    return CodecPayload(
        metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
        data=base64.b64encode(p.data).decode(),
    )


@router.options("/decode", include_in_schema=False)
async def decode_preflight(request: Request, settings: SettingsDep) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _cors(response, request, settings)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "authorization, content-type, x-namespace"
    return response


@router.post(
    "/decode",
    response_model=CodecPayloads,
    summary="Decode sealed Temporal payloads for the Temporal UI (auditor)",
    description=(
        'The Temporal codec-server protocol: `{"payloads": [...]}` in and out, metadata values and data '
        "base64. Sealed payloads come back opened; plain ones as they were. Each call is audited "
        "(`payloads_decoded`: the auditor, the group when `group_id` names it, the count)."
    ),
    responses=responses(*AUTHED, 422),
)
async def decode(
    body: CodecPayloads,
    request: Request,
    response: Response,
    officer: Auditor,
    settings: SettingsDep,
    pool: PoolDep,
    x_namespace: Annotated[str | None, Header()] = None,
    group_id: Annotated[str | None, Query(max_length=64, description="The group, when known")] = None,
) -> CodecPayloads:
    _cors(response, request, settings)
    codec = data_converter(settings).payload_codec
    assert isinstance(codec, SealingCodec)
    payloads = [_to_proto(p) for p in body.payloads]
    try:
        opened = await codec.decode(payloads)
    except PayloadKeyError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from None
    await record_decode(
        pool,
        officer=officer,
        group_id=group_id,
        namespace=x_namespace or settings.temporal_namespace,
        count=len(payloads),
    )
    return CodecPayloads(payloads=[_from_proto(p) for p in opened])
