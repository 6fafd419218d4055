"""Grievances (pengaduan): their categories, each with its SLAs and the role that handles it, the steps
officers and complainants take, and the rules a grievance's text and the SMS keyword follow. One place:
the workflow, the API, the console and the SMS parser all read it.

A grievance's policy travels in its workflow's input, like a group's: a later change never rewrites a
running case's due dates. Override the defaults with a JSON file (`JPS_GRIEVANCE_POLICY_FILE`), e.g.
`{"categories": {"misconduct": {"acknowledge_within": 43200}}, "reopen_within": 1209600}` (seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from jps.domain.roles import Role

DAY = timedelta(days=1)

GRIEVANCE_TEXT_MAX = 2000  # characters of a complaint, an answer or a reason
SMS_TEXT_MAX = 1600  # an inbound SMS (ten concatenated parts)
GRIEVANCE_ID_RE = re.compile(r"^GRV-[A-Z2-7]{10}$")
GROUP_ID_RE = re.compile(r"^(TKM|PK)-[0-9]{4}-[A-Z2-7]{10}$")

Channel = Literal["web", "sms", "walk_in", "verification"]


class GrievanceCategory(StrEnum):
    PAYMENT_NOT_RECEIVED = "payment_not_received"  # bantuan belum diterima
    WRONG_AMOUNT = "wrong_amount"  # jumlah tidak sesuai
    EXCLUDED = "excluded"  # tidak terpilih / dikeluarkan
    MISCONDUCT = "misconduct"  # penyimpangan, pungutan liar
    OTHER = "other"  # lainnya


class GrievanceStatus(StrEnum):
    FILED = "filed"  # waiting for an officer's acknowledgement
    ACKNOWLEDGED = "acknowledged"  # an officer is on it (diterima)
    INFO_REQUESTED = "info_requested"  # waiting for the complainant's answer
    RESOLVED = "resolved"  # decided: upheld, rejected or referred
    ARCHIVED = "archived"  # the case is closed for good (`archive_after` past its decision)


OPEN_STATUSES = (GrievanceStatus.FILED, GrievanceStatus.ACKNOWLEDGED, GrievanceStatus.INFO_REQUESTED)


class Decision(StrEnum):
    UPHELD = "upheld"  # dikabulkan
    REJECTED = "rejected"  # ditolak
    REFERRED = "referred"  # dirujuk (to another agency)


class GrievanceTaskKind(StrEnum):
    ACKNOWLEDGE = "grievance_acknowledge"
    RESOLVE = "grievance_resolve"


class CategoryRule(BaseModel):
    handler: Role = Field(description="The role that acknowledges and decides (in the grievance's region)")
    acknowledge_within: timedelta = Field(description="From filing to the acknowledgement's due date")
    resolve_within: timedelta = Field(
        description="From filing to the decision's due date; the clock stops while the complainant is asked"
    )


class GrievancePolicy(BaseModel):
    categories: dict[GrievanceCategory, CategoryRule]
    escalate_regional_after: timedelta = Field(3 * DAY, description="After a due date: region's supervisor")
    escalate_national_after: timedelta = Field(7 * DAY, description="After a due date: national directorate")
    answer_within: timedelta = Field(
        14 * DAY, description="The complainant's time to answer a request for information"
    )
    reopen_within: timedelta = Field(
        14 * DAY, description="The complainant may reopen this long after a decision"
    )
    archive_after: timedelta = Field(
        365 * DAY,
        description="A decided case closes for good (its workflow ends) this long after the decision",
    )

    def rule(self, category: GrievanceCategory) -> CategoryRule:
        return self.categories[category]


DEFAULT_GRIEVANCE_POLICY = GrievancePolicy(
    categories={
        GrievanceCategory.PAYMENT_NOT_RECEIVED: CategoryRule(
            handler=Role.FINANCE, acknowledge_within=2 * DAY, resolve_within=7 * DAY
        ),
        GrievanceCategory.WRONG_AMOUNT: CategoryRule(
            handler=Role.FINANCE, acknowledge_within=2 * DAY, resolve_within=14 * DAY
        ),
        GrievanceCategory.EXCLUDED: CategoryRule(
            handler=Role.VERIFIER, acknowledge_within=3 * DAY, resolve_within=14 * DAY
        ),
        GrievanceCategory.MISCONDUCT: CategoryRule(
            handler=Role.SUPERVISOR, acknowledge_within=1 * DAY, resolve_within=14 * DAY
        ),
        GrievanceCategory.OTHER: CategoryRule(
            handler=Role.REGISTRAR, acknowledge_within=3 * DAY, resolve_within=21 * DAY
        ),
    }
)


def load_grievance_policy(path: Path | None) -> GrievancePolicy:
    """The defaults, with a JSON file's fields over them (durations in seconds)."""
    if path is None:
        return DEFAULT_GRIEVANCE_POLICY
    data: dict[str, Any] = DEFAULT_GRIEVANCE_POLICY.model_dump(mode="python")
    override = json.loads(path.read_text())
    for name, fields in (override.get("categories") or {}).items():
        data["categories"][GrievanceCategory(name)].update(fields)
    data.update({k: v for k, v in override.items() if k != "categories"})
    return GrievancePolicy.model_validate(data)


# ---- officers' steps on a grievance: the URL name, who may take it, in which statuses ----


class GrievanceActionSpec(BaseModel):
    name: str  # as in the URL
    statuses: tuple[GrievanceStatus, ...]
    supervisor_only: bool = False  # else: the category's handler role (or a supervisor of the region)
    summary: str

    @property
    def update_name(self) -> str:
        return "grievance_" + self.name.replace("-", "_")


GRIEVANCE_ACTIONS: dict[str, GrievanceActionSpec] = {
    spec.name: spec
    for spec in (
        GrievanceActionSpec(
            name="acknowledge",
            statuses=(GrievanceStatus.FILED,),
            summary="Acknowledge the grievance (the complainant is told by SMS)",
        ),
        GrievanceActionSpec(
            name="request-info",
            statuses=(GrievanceStatus.ACKNOWLEDGED,),
            summary="Ask the complainant for more information (by SMS; answered by SMS or on the web)",
        ),
        GrievanceActionSpec(
            name="resolve",
            statuses=(GrievanceStatus.ACKNOWLEDGED, GrievanceStatus.INFO_REQUESTED),
            summary="Decide: upheld, rejected or referred, with the reason",
        ),
        GrievanceActionSpec(
            name="reopen",
            statuses=(GrievanceStatus.RESOLVED,),
            supervisor_only=True,
            summary="Reopen a decided grievance (a supervisor, at any time before it is archived)",
        ),
    )
}


# ---- text rules ----

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(text: str, *, max_len: int = GRIEVANCE_TEXT_MAX) -> str | None:
    """Why a complainant's or officer's text is refused, or None."""
    if not text.strip():
        return "must not be empty"
    if len(text) > max_len:
        return f"at most {max_len} characters"
    if _CONTROL.search(text):
        return "control characters are not allowed"
    return None


# ---- the SMS keyword (Bahasa Indonesia; also accepted in lower case) ----

SMS_KEYWORD = "ADUAN"
SMS_FORMAT = "ADUAN <id kelompok atau -> <NIK> <kategori> <isi pengaduan>"
# What a member may type for each category (the first is what the README shows).
SMS_CATEGORY_WORDS: dict[str, GrievanceCategory] = {
    "BELUMTERIMA": GrievanceCategory.PAYMENT_NOT_RECEIVED,
    "BELUM": GrievanceCategory.PAYMENT_NOT_RECEIVED,
    "JUMLAH": GrievanceCategory.WRONG_AMOUNT,
    "TIDAKTERPILIH": GrievanceCategory.EXCLUDED,
    "DIKELUARKAN": GrievanceCategory.EXCLUDED,
    "PUNGLI": GrievanceCategory.MISCONDUCT,
    "PENYIMPANGAN": GrievanceCategory.MISCONDUCT,
    "LAINNYA": GrievanceCategory.OTHER,
    **{c.value.upper(): c for c in GrievanceCategory},
}


class SmsGrievance(BaseModel):
    group_id: str | None
    nik: str
    category: GrievanceCategory
    text: str


class SmsParseError(ValueError):
    """The message starts with the keyword but is not a valid grievance (the sender is told how)."""


def parse_sms_grievance(text: str) -> SmsGrievance | None:
    """`ADUAN <group id or -> <NIK> <category> <text>` as a grievance; None when the message does not
    start with the keyword (another handler's); `SmsParseError` naming the part that is wrong."""
    parts = text.strip().split(None, 4)
    if not parts or parts[0].upper() != SMS_KEYWORD:
        return None
    if len(parts) < 5:
        raise SmsParseError(f"format: {SMS_FORMAT}")
    _, group, nik, word, body = parts
    group_id = None if group == "-" else group.upper()
    if group_id is not None and not GROUP_ID_RE.match(group_id):
        raise SmsParseError("group id")
    category = SMS_CATEGORY_WORDS.get(word.upper())
    if category is None:
        raise SmsParseError("category")
    if not (len(nik) == 16 and nik.isdigit()):
        raise SmsParseError("NIK")
    problem = text_problem(body)
    if problem:
        raise SmsParseError(f"text: {problem}")
    return SmsGrievance(group_id=group_id, nik=nik, category=category, text=body)


# ---- the complainant's phone: masked for people, a keyed hash for matching a reply ----


def normalize_phone(phone: str) -> str:
    """A gateway's sender as we store numbers: `08…` and `628…` become `+628…`."""
    phone = phone.strip()
    if phone.startswith("08"):
        return "+62" + phone[1:]
    if phone.startswith("62"):
        return "+" + phone
    return phone


def mask_phone(phone: str) -> str:
    """`+62812*****890`: the operator prefix and the last three digits stay readable."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


def phone_digest(phone: str, key: str) -> str:
    """HMAC-SHA256 of the number under `JPS_PHONE_HASH_KEY`: a reply's sender is matched to the number
    that was asked without the read model holding the number (a plain hash of a phone number is
    reversed by trying them all)."""
    return hmac.new(key.encode(), phone.strip().encode(), hashlib.sha256).hexdigest()


# ---- what the complainant is told by SMS at each step (Bahasa Indonesia; no NIK, no officer's name) ----

SMS_TEXTS: dict[str, str] = {
    "grievance_filed": (
        "JPS Kemnaker: pengaduan Anda diterima dengan nomor {grievance_id}. Kami tanggapi paling lambat "
        "{due_on}. Simpan nomor ini untuk menjawab atau membuka kembali pengaduan."
    ),
    "grievance_acknowledged": (
        "JPS Kemnaker: pengaduan {grievance_id} sedang ditangani petugas. Keputusan paling lambat {due_on}."
    ),
    "grievance_info_requested": (
        "JPS Kemnaker: petugas meminta keterangan untuk pengaduan {grievance_id}: {question} "
        "Balas SMS ini, atau jawab di halaman pengaduan dengan nomor pengaduan dan NIK Anda, "
        "paling lambat {answer_on}."
    ),
    "grievance_info_received": (
        "JPS Kemnaker: keterangan Anda untuk pengaduan {grievance_id} sudah kami terima."
    ),
    "grievance_resolved": (
        "JPS Kemnaker: pengaduan {grievance_id} diputuskan: {decision}. Alasan: {reason} "
        "Tidak setuju? Buka kembali sampai {reopen_on} di halaman pengaduan."
    ),
    "grievance_reopened": "JPS Kemnaker: pengaduan {grievance_id} dibuka kembali dan akan ditinjau ulang.",
    # Answers to an ADUAN message that filed nothing (api/grievance_sms.py), at most one an hour a number.
    "grievance_sms_unreadable": (
        "JPS Kemnaker: pengaduan Anda belum tercatat, {part} tidak terbaca. Kirim: " + SMS_FORMAT + ". "
        "Kategori: BELUMTERIMA, JUMLAH, TIDAKTERPILIH, PUNGLI, LAINNYA. Contoh: ADUAN - <NIK Anda> "
        "BELUMTERIMA bantuan belum masuk"
    ),
    "grievance_sms_not_filed": (
        "JPS Kemnaker: pengaduan Anda tidak dapat dicatat. Periksa id kelompok dan NIK, atau ajukan di "
        "halaman pengaduan JPS atau kantor Disnaker setempat."
    ),
}

# The part of an ADUAN message a `SmsParseError` names, as the sender is told it.
SMS_PART_WORDS: dict[str, str] = {
    "format": "susunan pesan",
    "group id": "id kelompok",
    "category": "kategori",
    "NIK": "NIK",
    "text": "isi pengaduan",
}


def sms_part_word(part: str) -> str:
    """`SmsParseError`'s part ('text: control character', 'format: …') in the sender's words."""
    return SMS_PART_WORDS.get(part.split(":", 1)[0], SMS_PART_WORDS["format"])


DECISION_WORDS: dict[Decision, str] = {
    Decision.UPHELD: "dikabulkan",
    Decision.REJECTED: "ditolak",
    Decision.REFERRED: "dirujuk ke instansi lain",
}
