"""The data rules of DESIGN.md on the input models: each broken rule names its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jps.domain.models import Proposal, ScheduleTrainingArgs
from jps.domain.programs import DEFAULT_POLICIES, Program, compressed_policies, load_policies
from jps.domain.roles import Role
from jps.domain.stages import TaskKind
from jps.domain.wages import WagePolicy, WorkRole
from tests.factories import EQUAL_SPLIT, proposal


def _body(**changes: Any) -> dict[str, Any]:
    data = proposal().model_dump(mode="json")
    data.update(changes)
    return data


def _error_locs(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as err:
        Proposal.model_validate(data)
    return [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in err.value.errors()]


def test_the_seed_average_group_is_admitted_by_default() -> None:
    for program in Program:
        p = proposal(program, size=20, amount=10_000_000)
        assert p.policy_errors(DEFAULT_POLICIES[program]) == []


def test_exactly_one_leader() -> None:
    data = _body()
    data["members"][1]["is_leader"] = True
    assert any("exactly one leader" in e for e in _error_locs(data))


def test_phone_must_be_indonesian_mobile() -> None:
    data = _body()
    data["members"][0]["phone"] = "0812345678"
    assert any(e.startswith("members.0.phone") for e in _error_locs(data))


def test_amount_is_whole_rupiah() -> None:
    assert any(e.startswith("requested_amount") for e in _error_locs(_body(requested_amount=1_000_000.5)))
    assert any(e.startswith("requested_amount") for e in _error_locs(_body(requested_amount=0)))


def test_region_must_be_a_real_regency() -> None:
    assert any(e.startswith("region_code") for e in _error_locs(_body(region_code="9971")))
    assert any(e.startswith("region_code") for e in _error_locs(_body(region_code="317")))


def test_nik_errors_never_echo_the_nik() -> None:
    data = _body()
    data["members"][2]["nik"] = "3171019902900001"
    errors = _error_locs(data)
    assert any(e.startswith("members.2") and "nik" in e for e in errors)
    assert not any("3171019902900001" in e for e in errors)


def test_duplicate_nik_within_a_group() -> None:
    data = _body()
    data["members"][3]["nik"] = data["members"][4]["nik"]
    data["members"][3]["birth_date"] = data["members"][4]["birth_date"]
    data["members"][3]["gender"] = data["members"][4]["gender"]
    assert any("members.4.nik" in e for e in _error_locs(data))


def test_padat_karya_workers_need_their_own_account() -> None:
    data = proposal(Program.PADAT_KARYA).model_dump(mode="json")
    data["members"][5]["bank_account"] = None
    assert any("members.5.bank_account" in e for e in _error_locs(data))


def test_policy_limits_name_the_field() -> None:
    small = proposal(size=5)
    assert [f for f, _ in small.policy_errors(DEFAULT_POLICIES[Program.TKM])] == ["members"]
    rich = proposal(amount=DEFAULT_POLICIES[Program.TKM].aid_ceiling + 1)
    assert [f for f, _ in rich.policy_errors(DEFAULT_POLICIES[Program.TKM])] == ["requested_amount"]


def test_training_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends_on"):
        ScheduleTrainingArgs(starts_on="2026-12-02", ends_on="2026-12-01", venue="BLK")


def test_policies_load_from_a_file_with_overrides(tmp_path: Any) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"tkm": {"aid_ceiling": 30000000, "sla": {"verify": 3600}}}')
    policies = load_policies(path)
    assert policies[Program.TKM].aid_ceiling == 30_000_000
    assert policies[Program.TKM].sla_for(TaskKind.VERIFY).total_seconds() == 3600
    assert policies[Program.TKM].sla_for(TaskKind.SCHEDULE_TRAINING) == DEFAULT_POLICIES[Program.TKM].sla_for(
        TaskKind.SCHEDULE_TRAINING
    )
    assert policies[Program.PADAT_KARYA] == DEFAULT_POLICIES[Program.PADAT_KARYA]


def test_padat_karya_pays_weekly_wages_by_default_and_a_policy_file_can_switch_it_off(tmp_path: Any) -> None:
    assert DEFAULT_POLICIES[Program.PADAT_KARYA].wages == WagePolicy()
    assert DEFAULT_POLICIES[Program.TKM].wages is None
    path = tmp_path / "policy.json"
    path.write_text('{"padat_karya": {"wages": null, "aid_ceiling": 50000000}}')
    off = load_policies(path)[Program.PADAT_KARYA]
    assert off.wages is None and off.aid_ceiling == 50_000_000
    assert off.model_copy(update={"aid_ceiling": 60_000_000}) == EQUAL_SPLIT
    assert EQUAL_SPLIT.model_copy(update={"wages": WagePolicy()}) == DEFAULT_POLICIES[Program.PADAT_KARYA]
    # A partial rule keeps the other defaults (rates included); {} takes them all.
    path.write_text('{"padat_karya": {"wages": {"planned_workdays": 5, "daily_rates": {"worker": 90000}}}}')
    partial = load_policies(path)[Program.PADAT_KARYA].wages
    assert partial is not None and partial.planned_workdays == 5
    assert partial.daily_rates == {
        WorkRole.WORKER: 90_000,
        WorkRole.SKILLED: 125_000,
        WorkRole.FOREMAN: 150_000,
    }
    assert load_policies(overrides={"padat_karya": {"wages": {}}})[Program.PADAT_KARYA].wages == WagePolicy()


def test_a_padat_karya_proposal_names_its_worksite_under_the_wage_rule() -> None:
    bare = proposal(Program.PADAT_KARYA, worksite=None)
    assert [f for f, _ in bare.policy_errors(DEFAULT_POLICIES[Program.PADAT_KARYA])] == ["worksite"]
    assert bare.policy_errors(EQUAL_SPLIT) == []  # the equal split needs none
    assert proposal(Program.PADAT_KARYA).members[0].work_role == WorkRole.FOREMAN


def test_compressed_policies_scale_every_duration() -> None:
    fast = compressed_policies(seconds_per_day=1.0)[Program.TKM]
    assert fast.sla_for(TaskKind.VERIFY).total_seconds() == pytest.approx(7.0)
    assert fast.mentoring.interval.total_seconds() == pytest.approx(30.0)
    assert fast.aid_ceiling == DEFAULT_POLICIES[Program.TKM].aid_ceiling


def test_no_role_name_holds_a_comma() -> None:
    """activities/db.py writes a task's roles joined by commas and splits them in SQL."""
    assert all("," not in role.value for role in Role)
