"""What every response shares: the error shape, a page of a listing, examples, masked account numbers,
and the health answer."""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("control characters are not allowed")
    return v


# An officer's reason for a budget step, as the audit log keeps it: PostgreSQL refuses a NUL in text
# (a 500 before), so control characters are a 422 naming the field; the pattern tells OpenAPI clients.
Reason = Annotated[
    str,
    Field(
        min_length=3,
        max_length=500,
        json_schema_extra={"pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"},
    ),
    AfterValidator(_no_control_characters),
]


def mask_account(account_no: str | None) -> str | None:
    if not account_no:
        return account_no
    return "*" * max(len(account_no) - 4, 0) + account_no[-4:]


def example_config(**example: Any) -> ConfigDict:
    """A model config carrying one example (OpenAPI shows it at /docs)."""
    return ConfigDict(json_schema_extra={"examples": [example]})


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """The first example of a response model (to nest it in another model's example)."""
    extra: Any = model.model_config.get("json_schema_extra")
    example: dict[str, Any] = extra["examples"][0]
    return example


class ErrorOut(BaseModel):
    """FastAPI's error shape: `detail` is a sentence, or a list naming each invalid field."""

    model_config = example_config(detail="stage is training; verify is allowed in verification only")
    detail: str | list[dict[str, Any]]


class Page(BaseModel, Generic[T]):
    model_config = example_config(items=[], total=0, page=1, size=50)
    items: list[T]
    total: int = Field(description="Rows matching the filters, over all pages")
    page: int
    size: int


class HealthOut(BaseModel):
    model_config = example_config(status="ok", api="up", postgres="up", temporal="up")
    status: Literal["ok", "degraded"]
    api: Literal["up"]
    postgres: Literal["up", "down"]
    temporal: Literal["up", "down"]
