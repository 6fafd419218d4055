"""The weekly wage run's arithmetic (workflows/group_lifecycle/wage_money.py) and the wage rule
(jps/domain/wages.py): plain functions, no Temporal."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jps.contracts.wages import MusterException, WageRuntime, WeekRun, WorkerWeek
from jps.domain.programs import Program
from jps.domain.wages import WagePolicy, WorkRole, Worksite, distance_m, wage, within
from tests.factories import proposal
from workflows.group_lifecycle import wage_money

MONDAY = date(2020, 10, 5)


def run(worked: list[WorkerWeek], exceptions: list[MusterException] | None = None) -> WeekRun:
    return WeekRun(
        week_starts_on=MONDAY,
        status="accepted",
        submitted_by="mentor-1",
        submitted_at=datetime(2020, 10, 10, tzinfo=UTC),
        worked=worked,
        clean_days=[MONDAY],
        exceptions=exceptions or [],
    )


def test_days_times_the_rate_of_the_role_and_the_province() -> None:
    p = proposal(Program.PADAT_KARYA, size=10, region="3171")
    members = [
        m.model_copy(update={"work_role": WorkRole.FOREMAN if i == 0 else WorkRole.WORKER})
        for i, m in enumerate(p.members)
    ]
    p = p.model_copy(update={"members": members})
    policy = WagePolicy(province_rates={"31": {WorkRole.WORKER: 150_000}})
    r = run(
        [
            WorkerWeek(nik=p.members[0].nik, days=3, hours=24),
            WorkerWeek(nik=p.members[4].nik, days=2, hours=15),
        ],
        [
            MusterException(
                nik=p.members[4].nik, date=MONDAY, hours=8, kind="no_evidence", decision="accepted"
            ),
            MusterException(
                nik=p.members[5].nik, date=MONDAY, hours=8, kind="no_evidence", decision="struck"
            ),
        ],
    )
    lines = wage_money.wage_lines(r, p, policy, "3171")
    assert [(ln.member_no, ln.days, ln.rate, ln.amount) for ln in lines] == [
        (0, 3, 150_000, 450_000),  # foreman: the national rate
        (4, 3, 150_000, 450_000),  # worker in Jakarta: the province's rate; the accepted exception counts
    ]
    assert wage_money.wage_lines(r, p, policy, "3273")[1].rate == 100_000


def test_the_hours_rule_pays_the_hours_share_of_a_hok_rounded_down() -> None:
    policy = WagePolicy(pay_rule="hours", hours_per_hok=8)
    assert wage(policy, days=3, hours=21, rate=100_000) == 262_500
    assert wage(policy, days=1, hours=7, rate=99_999) == 87_499  # 87,499.125: never a rupiah not earned
    assert wage(WagePolicy(), days=3, hours=21, rate=100_000) == 300_000


def test_transfer_ids_are_one_per_worker_per_week_and_new_only_after_a_failure() -> None:
    p = proposal(Program.PADAT_KARYA, size=10)
    r = run([WorkerWeek(nik=p.members[2].nik, days=1, hours=8)])
    r.lines = wage_money.wage_lines(r, p, WagePolicy(), p.region_code)
    line = r.lines[0]
    assert wage_money.transfer_id("PK-3171-X", MONDAY, line) == "PK-3171-X-W20201005-02"
    line.tries = 1
    assert wage_money.transfer_id("PK-3171-X", MONDAY, line) == "PK-3171-X-W20201005-02-R1"


def test_workdays_count_site_days_of_accepted_weeks_and_owed_wages_are_counted() -> None:
    p = proposal(Program.PADAT_KARYA, size=10)
    r = run([WorkerWeek(nik=p.members[1].nik, days=1, hours=8)])
    r.lines = wage_money.wage_lines(r, p, WagePolicy(), p.region_code)
    wages = WageRuntime(reservation_id="g:0", weeks=[r])
    assert wage_money.workdays_worked(wages) == 1
    r.status = "settled"
    r.lines[0].status = "failed"
    assert wage_money.owed_niks(wages) == {p.members[1].nik}
    assert wage_money.week_totals(r).owed == 100_000
    assert [x.week_starts_on for x in wage_money.owed_again(wages, p.members[1].nik)] == [MONDAY]
    assert r.lines[0].status == "due" and wage_money.committed(wages) == 100_000


def test_the_geofence() -> None:
    site = Worksite(lat=-6.2, lon=106.85, radius_m=200)
    assert within(site, -6.2, 106.85)
    assert within(site, -6.2015, 106.85)  # about 167 m south
    assert not within(site, -6.21, 106.85)  # about 1.1 km
    assert round(distance_m(-6.2, 106.85, -6.21, 106.85)) == 1112
