"""Why a step was refused, and the error types activities raise: one spelling of each.

A workflow refuses an officer's step with an `ApplicationError` whose type is a `RefusalKind`; the
API maps each kind to its HTTP status (`api/errors.py`). Activities raise `ErrorType`s that the
workflow's retry policies name as final."""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    FORBIDDEN = "Forbidden"  # a role the step does not allow, or a region outside the officer's scope
    WRONG_STAGE = "WrongStage"  # the stage or the open task does not expect this step
    INVALID = "Invalid"  # bad data; the message starts with the field's name
    NIK_CONFLICT = "NikConflict"  # a member's NIK is in another active group
    NOT_FOUND = "NotFound"
    IDEMPOTENCY_MISMATCH = "IdempotencyMismatch"  # an Idempotency-Key reused with another body


class ErrorType(StrEnum):
    """`ApplicationError.type` of the activities' final (non-retryable) errors."""

    INVALID_DATA = "InvalidData"  # the database refused the data: retrying cannot help
    NIK_CONFLICT = RefusalKind.NIK_CONFLICT.value
    BANK_REJECTED = "BankRejectedError"  # the bank refused the request itself (4xx)
    IDEMPOTENCY_CONFLICT = "IdempotencyConflictError"  # the bank's 409 for a key it holds
    RECEIPT_REUSED = "ReceiptReused"  # an LPJ receipt already accounts for another group's aid
