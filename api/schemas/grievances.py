"""Grievances (pengaduan): what a complainant or an officer may send, and what each is shown.

The public answers carry nothing but the case's id, status and due date: never whether the NIK is
known or in the group. Officers see the case with the NIK and phone masked (the read model holds
nothing else), the text as typed (templates escape it), and for a payment grievance the bank's own
status of the member's transfer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.schemas.common import example_config
from jps.domain.grievances import (
    GRIEVANCE_TEXT_MAX,
    Decision,
    GrievanceCategory,
    GrievanceStatus,
    text_problem,
)
from jps.domain.models import NO_CONTROL_PATTERN, PHONE_RE
from jps.domain.nik import NikError, parse_nik

NIK_FIELD = Field(
    min_length=16, max_length=16, examples=["3171014507900001"], json_schema_extra={"pattern": "^[0-9]{16}$"}
)
TEXT_FIELD = Field(
    min_length=1,
    max_length=GRIEVANCE_TEXT_MAX,
    pattern=NO_CONTROL_PATTERN,
    examples=["Bantuan kelompok kami belum masuk ke rekening sejak bulan lalu."],
)
GROUP_ID_PATTERN = r"^(TKM|PK)-[0-9]{4}-[A-Z2-7]{10}$"
OFFICER_ID_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"


def _nik(v: str) -> str:
    try:
        parse_nik(v)
    except NikError as exc:
        raise ValueError(str(exc)) from None
    return v


def _text(v: str) -> str:
    problem = text_problem(v)
    if problem:
        raise ValueError(problem)
    return v


def _in_config(**example: Any) -> ConfigDict:
    """An input model's config: unknown fields refused, text stripped, one example for /docs."""
    return ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [example]})


class _In(BaseModel):
    model_config = _in_config()


class GrievanceIn(_In):
    """A grievance filed by the member (public page) or by an officer on their behalf (walk-in)."""

    model_config = _in_config(
        nik="3171014507900001",
        phone="+6281234567890",
        group_id="TKM-3171-AB2CD3EF4G",
        category="payment_not_received",
        text="Bantuan kelompok kami belum masuk ke rekening sejak bulan lalu.",
    )

    nik: str = NIK_FIELD
    phone: str = Field(
        min_length=11,
        max_length=15,
        examples=["+6281234567890"],
        json_schema_extra={"pattern": PHONE_RE.pattern},
    )
    group_id: str | None = Field(
        None, max_length=20, pattern=GROUP_ID_PATTERN, examples=["TKM-3171-AB12CD34EF"]
    )
    category: GrievanceCategory
    about_officer: str | None = Field(
        None,
        max_length=64,
        pattern=OFFICER_ID_PATTERN,
        description="misconduct: the officer complained about",
    )
    text: str = TEXT_FIELD

    _n = field_validator("nik")(_nik)
    _t = field_validator("text")(_text)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE_RE.match(v):
            raise ValueError("must be an Indonesian mobile number like +6281234567890")
        return v

    @field_validator("about_officer")
    @classmethod
    def _about(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v and info.data.get("category") not in (None, GrievanceCategory.MISCONDUCT):
            raise ValueError("only a misconduct grievance names the officer complained about")
        return v or None


class ComplainantIn(_In):
    """The complainant's answer to a request for information, or their reopening: proven by the NIK."""

    model_config = _in_config(nik="3171014507900001", text="Rekening BRI atas nama ketua kelompok.")

    nik: str = NIK_FIELD
    text: str = TEXT_FIELD

    _n = field_validator("nik")(_nik)
    _t = field_validator("text")(_text)


class AcknowledgeIn(_In):
    model_config = _in_config(note="Diperiksa dengan bank")
    note: str = Field("", max_length=GRIEVANCE_TEXT_MAX, pattern=NO_CONTROL_PATTERN)


class RequestInfoIn(_In):
    model_config = _in_config(question="Ke rekening mana bantuan seharusnya masuk?")
    question: str = TEXT_FIELD

    _t = field_validator("question")(_text)


class ResolveIn(_In):
    model_config = _in_config(decision="upheld", reason="Transfer dikirim ulang ke rekening yang benar")
    decision: Decision
    reason: str = TEXT_FIELD

    _t = field_validator("reason")(_text)


class ReopenIn(_In):
    model_config = _in_config(reason="Bantuan masih belum diterima")
    reason: str = TEXT_FIELD

    _t = field_validator("reason")(_text)


ACTION_BODIES: dict[str, type[_In]] = {
    "acknowledge": AcknowledgeIn,
    "request-info": RequestInfoIn,
    "resolve": ResolveIn,
    "reopen": ReopenIn,
}


class GrievanceRefOut(BaseModel):
    model_config = example_config(
        grievance_id="GRV-ABCDEFGHIJ", status="filed", due_at="2020-10-09T02:00:00Z"
    )
    grievance_id: str
    status: GrievanceStatus
    due_at: datetime | None


class GrievanceTaskOut(BaseModel):
    model_config = example_config(
        kind="grievance_acknowledge",
        roles=["finance"],
        opened_at="2020-10-07T02:00:00Z",
        due_at="2020-10-09T02:00:00Z",
        escalation_level=0,
        overdue=False,
    )
    kind: str
    roles: list[str]
    opened_at: datetime
    due_at: datetime
    escalation_level: int
    overdue: bool = False


class GrievanceItemOut(BaseModel):
    """A case in a listing (NIK and phone masked)."""

    model_config = example_config(
        grievance_id="GRV-ABCDEFGHIJ",
        category="payment_not_received",
        channel="sms",
        status="filed",
        group_id="TKM-3171-AB12CD34EF",
        region_code="3171",
        nik_masked="3171********0001",
        handler_role="finance",
        filed_at="2020-10-07T02:00:00Z",
        task=None,
        escalation_level=0,
    )
    grievance_id: str
    category: GrievanceCategory
    channel: str
    status: GrievanceStatus
    group_id: str | None
    region_code: str
    nik_masked: str
    handler_role: str
    filed_at: datetime
    task: GrievanceTaskOut | None = None
    escalation_level: int = 0


class GrievanceEventOut(BaseModel):
    model_config = example_config(
        seq=2, at="2020-10-08T02:00:00Z", event="acknowledged", officer="finance-1", text="", details={}
    )
    seq: int
    at: datetime
    event: str
    officer: str | None
    text: str
    details: dict[str, Any]


class GrievanceOut(GrievanceItemOut):
    """A case in full: the complaint, the group and member as the officer may see them, the bank's own
    status of a payment grievance's transfer, the decision, and every step."""

    phone_masked: str
    text: str
    group_known: bool
    member_in_group: bool
    about_officer: str | None
    filed_by: str | None
    transfer_id: str | None
    bank: dict[str, Any] | None
    decision: Decision | None
    reason: str
    decided_at: datetime | None
    resolve_due_at: datetime | None
    answer_due_at: datetime | None
    reopened: int
    events: list[GrievanceEventOut] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list, description="The steps this officer may take now")


class InboundOut(BaseModel):
    model_config = example_config(
        message_id="sms-0001", handled=True, handler="grievance_keyword", duplicate=False
    )
    message_id: str
    handled: bool
    handler: str | None = None
    duplicate: bool = False
