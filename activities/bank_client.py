"""The product's client for the bank gateway: instruct a transfer, ask its status, read the statement.

It does one HTTP call per method and never retries: Temporal's activity retries do that. Its job
is to say which failures a retry can cure. Every error it raises is a Temporal `ApplicationError`
whose `type` is the class name and whose `non_retryable` flag is already right, so an activity may
let it propagate as it is:

- `BankTransientError` (retryable): 5xx, 401, 403, 408, 429, timeouts, connection errors, a garbled
  answer.
  Safe to retry *with the same idempotency key*: the bank may have recorded the transfer before
  the answer was lost, and the key makes the retry answer that same transfer.
- `BankRejectedError` (non-retryable): any other 4xx, i.e. the instruction itself is bad.
- `IdempotencyConflictError` (non-retryable): 409, the key (or the transfer id) was already used
  for a different instruction. That is a bug on our side, never something to retry past.

`create_transfers` instructs many transfers in one request (`POST /transfers/batch`) and answers each
as `create_transfer` would: its `TransferResponse`, or the error above for that item's status,
returned rather than raised. Only the whole request failing raises.

A transfer that the bank accepted but could not pay is not an error here: it is a
`TransferResponse` with `status="failed"`; `permanent` says whether an officer must fix the
account (`account_closed`) or a new transfer to the same account may simply be instructed (once the
bank's status confirms the failure). An answer that does not say is `PERMANENT_WHEN_UNSAID`, the
same default as a callback's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.exceptions import ApplicationError

from infra.http import BoundedAsyncClient
from jps.contracts.activities import PERMANENT_WHEN_UNSAID, TransferSpec

log = structlog.get_logger()

LOOKUP_CHUNK = 50  # transfer ids a caller puts in one `GET /transfers` (the simulator takes up to 100)
BATCH_CHUNK = 100  # transfers a caller puts in one `POST /transfers/batch` (the simulator's limit)

DEFAULT_TIMEOUT_S = 10.0

M = TypeVar("M", bound=BaseModel)


# ---- errors ----


class BankError(ApplicationError):
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, type=type(self).__name__, non_retryable=not self.retryable)
        self.status_code = status_code


class BankTransientError(BankError):
    retryable = True


class BankRejectedError(BankError):
    retryable = False


class IdempotencyConflictError(BankError):
    retryable = False


# ---- wire models ----


class TransferResponse(BaseModel):
    """The bank's word on one transfer: the answer to an instruction, a status poll or a callback."""

    model_config = ConfigDict(extra="ignore")

    transfer_id: str
    status: Literal["pending", "paid", "failed"]
    reason: str = ""
    permanent: bool = Field(
        PERMANENT_WHEN_UNSAID, description="failed and an officer must fix the account (unsaid: passing)"
    )
    amount: int | None = None
    batch_id: str | None = None
    paid_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.status != "pending"


class BatchResult(BaseModel):
    """The bank's answer about one transfer of a `POST /transfers/batch`."""

    model_config = ConfigDict(extra="ignore")

    transfer_id: str | None = None
    status_code: int
    transfer: TransferResponse | None = None
    detail: str | None = None


# One transfer of a batch: the bank's word on it, or the error `create_transfer` would have raised.
BatchItem: TypeAlias = TransferResponse | BankError


class StatementLine(BaseModel):
    """One transfer the bank moved money for, as its statement reports it."""

    model_config = ConfigDict(extra="ignore")

    transfer_id: str
    batch_id: str | None = None
    beneficiary: str = ""
    bank_code: str = ""
    account_no: str
    amount: int
    status: str = "paid"
    paid_at: datetime | None = None


# ---- the client ----


class BankClient:
    """One per worker (it holds a connection pool); `aclose()` it on shutdown."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        callback_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.callback_url = callback_url
        self._http = BoundedAsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> BankClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def create_transfer(self, spec: TransferSpec) -> TransferResponse:
        body = self._body(spec)
        resp = await self._request("POST", "/transfers", json=body, headers={"Idempotency-Key": spec.key})
        answer = _parse(TransferResponse, _json(resp))
        log.info(
            "transfer_instructed", transfer_id=answer.transfer_id, status=answer.status, amount=spec.amount
        )
        return answer

    async def create_transfers(self, specs: Sequence[TransferSpec]) -> list[BatchItem]:
        """Instruct many transfers in one request (`POST /transfers/batch`; at most `BATCH_CHUNK`, which
        the caller keeps to), each with its own idempotency key and the body `create_transfer` sends.
        One item each, in order: its `TransferResponse`, or the error its status means (returned, not
        raised). The whole request failing raises as `create_transfer` does; so does an answer that
        does not name every transfer asked, in order (never trusted: the same batch may be sent again,
        its keys make that harmless)."""
        items = []
        for spec in specs:
            body = self._body(spec)
            body["idempotency_key"] = spec.key
            items.append(body)
        resp = await self._request("POST", "/transfers/batch", json={"transfers": items})
        data = _json(resp)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise BankTransientError("bank batch answer is not a list of results")
        results = [_parse(BatchResult, r) for r in data["results"]]
        if [r.transfer_id for r in results] != [spec.transfer_id for spec in specs]:
            raise BankTransientError(
                f"bank batch answer names {len(results)} transfers, not the {len(specs)} asked in order"
            )
        out: list[BatchItem] = []
        for spec, result in zip(specs, results, strict=True):
            if result.status_code >= 400:
                detail = (result.detail or "")[:500]
                out.append(
                    _error(
                        result.status_code,
                        f"bank answered {result.status_code} to POST /transfers/batch: {detail}",
                    )
                )
                continue
            answer = result.transfer
            if answer is None or answer.transfer_id != spec.transfer_id:
                raise BankTransientError(f"bank batch answer has no transfer for {spec.transfer_id}")
            log.info(
                "transfer_instructed",
                transfer_id=answer.transfer_id,
                status=answer.status,
                amount=spec.amount,
            )
            out.append(answer)
        return out

    def _body(self, spec: TransferSpec) -> dict[str, Any]:
        body = spec.model_dump(exclude={"idempotency_key", "callback_url"})
        callback_url = spec.callback_url or self.callback_url
        if callback_url:
            body["callback_url"] = callback_url
        return body

    async def get_transfer(self, transfer_id: str) -> TransferResponse | None:
        """The transfer's current status, or None when the bank never received it."""
        resp = await self._request("GET", f"/transfers/{transfer_id}", allow_404=True)
        if resp.status_code == 404:
            return None
        return _parse(TransferResponse, _json(resp))

    async def get_transfers(self, transfer_ids: Sequence[str]) -> dict[str, TransferResponse | None]:
        """Many transfers' current status in one request (`GET /transfers?id=`; at most `LOOKUP_CHUNK`
        ids, which the caller keeps to): None for one the bank never received."""
        ids = list(transfer_ids)
        data = _json(await self._request("GET", "/transfers", params=[("id", t) for t in ids]))
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise BankTransientError("bank transfers answer is not a list of items")
        found = {a.transfer_id: a for a in (_parse(TransferResponse, item) for item in data["items"])}
        named = data.get("unknown") or []
        if not isinstance(named, list) or not all(isinstance(t, str) for t in named):
            raise BankTransientError("bank transfers answer's unknown is not a list of ids")
        unknown = set(named)
        out: dict[str, TransferResponse | None] = {}
        for tid in ids:
            if tid in found:
                out[tid] = found[tid]
            elif tid in unknown:
                out[tid] = None
            else:  # neither: the answer is not to be trusted
                raise BankTransientError(f"bank transfers answer says nothing of {tid}")
        return out

    async def statement(self, since: datetime | None = None) -> list[StatementLine]:
        """Every transfer the bank paid (since a moment, when given), for reconciliation."""
        params = {"since": since.isoformat()} if since is not None else {}
        resp = await self._request("GET", "/statement", params=params)
        data = _json(resp)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise BankTransientError("bank statement answer is not a list of items")
        return [_parse(StatementLine, item) for item in data["items"]]

    async def _request(
        self, method: str, url: str, *, allow_404: bool = False, **kwargs: Any
    ) -> httpx.Response:
        try:
            resp = await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            # The bank may have acted before the answer was lost: the caller retries with the same key.
            raise BankTransientError(f"bank timed out: {method} {url} ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise BankTransientError(f"bank unreachable: {method} {url} ({type(exc).__name__})") from exc
        status = resp.status_code
        if status < 400 or (allow_404 and status == 404):
            return resp
        raise _error(status, f"bank answered {status} to {method} {url}: {_detail(resp)}")


def _error(status: int, message: str) -> BankError:
    """The error a bank's 4xx or 5xx about an instruction means."""
    if status == 409:
        return IdempotencyConflictError(message, status_code=status)
    # 401/403 are about our credentials or the bank's configuration, never the beneficiary:
    # retry (with backoff, visible in Temporal) until an operator fixes them.
    if status >= 500 or status in (401, 403, 408, 429):
        return BankTransientError(message, status_code=status)
    return BankRejectedError(message, status_code=status)


def _json(resp: httpx.Response) -> object:
    """The decoded body, or None when it is not JSON (the parse below then fails as transient)."""
    try:
        return resp.json()
    except ValueError:
        return None


def _parse(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # A garbled answer (a proxy's error page, a truncated body) says nothing about our data.
        raise BankTransientError(f"unexpected bank answer: {exc.errors()[:1]}") from exc


def _detail(resp: httpx.Response) -> str:
    body = _json(resp)
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:500]
    return resp.text[:200]
