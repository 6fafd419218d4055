"""The OpenAPI document, completed: an example for every schema, including the domain's input models
(which live in `jps.domain` and carry field examples only), the enums and FastAPI's own error models."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.routes.groups import PROPOSAL_EXAMPLE

_WEEK: dict[str, Any] = {
    "week_starts_on": "2020-10-05",
    "status": "settled",
    "workers": 8,
    "workdays": 3,
    "worker_days": 20,
    "exceptions": 1,
    "struck": 1,
    "total": 2_000_000,
    "paid": 2_000_000,
    "owed": 0,
    "released": 0,
}

_EXAMPLES: dict[str, Any] = {
    "Proposal": PROPOSAL_EXAMPLE,
    "Member": PROPOSAL_EXAMPLE["members"][0],
    "BankAccount": PROPOSAL_EXAMPLE["bank_account"],
    "HTTPValidationError": {
        "detail": [
            {
                "loc": ["body", "members", 3, "nik"],
                "msg": "nik: NIK must be exactly 16 digits",
                "type": "value_error",
                "input": "3171********0001",
            }
        ]
    },
    "ValidationError": {
        "loc": ["body", "requested_amount"],
        "msg": "Input should be greater than 0",
        "type": "greater_than",
    },
    "Body_import_groups_groups_import_post": {"file": "kelompok.csv"},
    "Worksite": {"lat": -6.2, "lon": 106.85, "radius_m": 200},
    "WeekTotals": _WEEK,
    "WageTotals": {
        "planned_workdays": 10,
        "workdays_worked": 3,
        "ceiling": 10_000_000,
        "reserved": True,
        "drawn": 1_000_000,
        "released": 0,
        "weeks": [_WEEK],
        "accounts_to_authorize": [],
    },
    "AccountToAuthorize": {"member_no": 4, "nik_masked": "3171********0004", "amount": 300_000},
    "MusterEntry": {"nik": "3171014507900001", "date": "2020-10-05", "hours": 8},
    "DayEvidence": {"date": "2020-10-05", "file_ids": ["F-0123456789ABCDEFGHJKMNPQRS"]},
    "MusterDecision": {"nik": "3171014507900001", "date": "2020-10-07", "accept": False, "reason": "absent"},
    "SpendingLine": {
        "category": "capital_goods",
        "amount": 7_000_000,
        "spent_on": "2020-11-20",
        "supplier": "Toko Mesin Jaya",
        "file_id": "F-01HZX8Q2M4N6P8R0T2V4X6Z8B0",
    },
    "LpjState": {
        "paid": 10_000_000,
        "due_at": "2021-01-31T03:00:00Z",
        "due_on": "2021-01-31",
        "status": "under_review",
        "version": 1,
        "submitted": 10_000_000,
        "by_category": {"capital_goods": 7_000_000, "working_capital": 3_000_000},
        "accounted": 0,
        "submitted_by": "mentor-1",
        "reviewed_by": None,
        "notes": "nota asli terlampir",
    },
    "ReceivableOut": {
        "amount": 2_500_000,
        "reason": "short",
        "opened_at": "2021-02-10T03:00:00Z",
        "recovered": 1_000_000,
        "written_off": 0,
        "outstanding": 1_500_000,
        "repayments": 1,
    },
    "Body_upload_file_groups__group_id__files_post": {
        "file": "kwitansi.jpg",
        "purpose": "goods_photo",
        "lat": -6.2088,
        "lon": 106.8456,
        "captured_at": "2020-11-02T09:30:00+07:00",
    },
}


def install(app: FastAPI) -> None:
    """Replace `app.openapi` with one that adds the missing examples (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            for name, schema in spec.get("components", {}).get("schemas", {}).items():
                if schema.get("examples") or schema.get("example"):
                    continue
                if name in _EXAMPLES:
                    schema["examples"] = [_EXAMPLES[name]]
                elif "enum" in schema:
                    schema["examples"] = schema["enum"][:1]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
