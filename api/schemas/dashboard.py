"""The managers' reports behind the dashboard (dasbor): the funnel by stage, where groups stall
(provinces × steps), aid disbursed against the allocations, where the LPJs stand, and the money after
payment (paid = no LPJ owed + accounted + awaiting LPJ + under recovery + recovered + written off)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of
from jps.domain.programs import Program
from jps.domain.stages import Stage

_AS_OF = "End of this day (Asia/Jakarta); null = now"
_SCOPE = "The officer's region scope the figures cover"


class FunnelStageOut(BaseModel):
    model_config = example_config(stage="training", groups=412)
    stage: Stage
    groups: int


class FunnelProgramOut(BaseModel):
    model_config = example_config(
        program="tkm", label="Tenaga Kerja Mandiri", groups=1985, stages=[example_of(FunnelStageOut)]
    )
    program: Program
    label: str
    groups: int
    stages: list[FunnelStageOut] = Field(description="Every stage, in the lifecycle's order")


class FunnelOut(BaseModel):
    model_config = example_config(as_of="2020-10-02", regions=["*"], programs=[example_of(FunnelProgramOut)])
    as_of: date | None = Field(description=_AS_OF)
    regions: list[str] = Field(description=_SCOPE)
    programs: list[FunnelProgramOut]


class StallCellOut(BaseModel):
    model_config = example_config(province="31", step="verification", stays=40, median_days=4.5, overdue=3)
    province: str = Field(description="2-digit province code")
    step: Stage
    stays: int = Field(
        description="Groups that entered the step by the day (finished stays and current ones)"
    )
    median_days: float | None = Field(
        description="Median days in the step; a current stay counts until as_of"
    )
    overdue: int = Field(description="Open tasks of the step due before the end of the day")


class StallsOut(BaseModel):
    model_config = example_config(
        as_of="2020-10-02",
        program=None,
        regions=["*"],
        steps=["verification", "training"],
        provinces=[{"code": "31", "name": "DKI Jakarta"}],
        cells=[example_of(StallCellOut)],
    )
    as_of: date | None = Field(description=_AS_OF)
    program: Program | None = Field(description="null: both programmes")
    regions: list[str] = Field(description=_SCOPE)
    steps: list[Stage] = Field(description="The heatmap's columns: the stages a group waits in, in order")
    provinces: list[dict[str, str]] = Field(description="The heatmap's rows: `code` and `name`")
    cells: list[StallCellOut] = Field(description="One per province and step with any stay or overdue task")


class AllocationRowOut(BaseModel):
    model_config = example_config(
        program="tkm",
        region_code="31",
        amount=5_000_000_000,
        reserved=20_000_000,
        spent=130_000_000,
        available=4_850_000_000,
    )
    program: Program
    region_code: str = Field(description="The allocation's province or regency")
    amount: int = Field(description="The allocation")
    reserved: int = Field(description="Reserved for groups whose payment is on its way")
    spent: int = Field(description="Disbursed: paid by the bank")
    available: int


class AllocationReportOut(BaseModel):
    model_config = example_config(regions=["*"], items=[example_of(AllocationRowOut)])
    regions: list[str] = Field(description=_SCOPE)
    items: list[AllocationRowOut]


class LpjStatusRowOut(BaseModel):
    model_config = example_config(
        program="tkm",
        region_code="31",
        on_time_groups=12,
        on_time_amount=120_000_000,
        overdue_groups=2,
        overdue_amount=20_000_000,
        under_recovery_groups=1,
        under_recovery_amount=4_000_000,
        accepted_groups=30,
        accepted_amount=297_000_000,
        settled_groups=1,
        settled_amount=10_000_000,
    )
    program: Program
    region_code: str = Field(description="2-digit province")
    on_time_groups: int = Field(description="LPJ not yet accepted, not past its due date (or under review)")
    on_time_amount: int = Field(description="Their aid still awaiting an LPJ")
    overdue_groups: int = Field(description="LPJ past its due date, no receivable yet")
    overdue_amount: int
    under_recovery_groups: int = Field(description="A receivable still open (tuntutan ganti rugi)")
    under_recovery_amount: int = Field(description="What is still owed on those receivables")
    accepted_groups: int = Field(description="LPJ accepted, nothing owed")
    accepted_amount: int = Field(description="Aid accounted for by those LPJs")
    settled_groups: int = Field(description="Receivable repaid or written off in full")
    settled_amount: int = Field(description="Recovered plus written off on those receivables")


class LpjStatusOut(BaseModel):
    model_config = example_config(as_of="2020-12-31", regions=["*"], items=[example_of(LpjStatusRowOut)])
    as_of: date = Field(description="Today in Jakarta: overdue means due before it")
    regions: list[str] = Field(description=_SCOPE)
    items: list[LpjStatusRowOut]


class LpjRowOut(BaseModel):
    model_config = example_config(
        group_id="TKM-3171-AB12CD34EF",
        name="Kelompok Batik Sekar Arum",
        region_code="3171",
        status="overdue",
        paid=10_000_000,
        paid_at="2020-10-02T03:00:00Z",
        due_on="2020-12-31",
        days_overdue=12,
        accounted=0,
        awaiting=0,
        under_recovery=10_000_000,
        recovered=0,
        written_off=0,
        escalation_level=3,
    )
    group_id: str
    name: str
    region_code: str
    status: str = Field(description="due, under_review, revise, rejected or overdue")
    paid: int = Field(description="Aid paid to the group")
    paid_at: datetime = Field(description="When the bank confirmed it")
    due_on: date
    days_overdue: int = Field(description="Days past `due_on` (Jakarta), 0 when not yet due")
    accounted: int = Field(description="Accounted for by an accepted LPJ")
    awaiting: int = Field(description="Still awaiting an LPJ or its review")
    under_recovery: int = Field(description="Receivable still owed")
    recovered: int
    written_off: int
    escalation_level: int


class AidAccountsOut(BaseModel):
    """What became of the aid paid, per programme and region: the terms add up to `paid`."""

    model_config = example_config(
        program="tkm",
        region_code="31",
        paid=100_000_000,
        no_lpj_owed=10_000_000,
        accounted=60_000_000,
        awaiting_lpj=20_000_000,
        under_recovery=5_000_000,
        recovered=3_000_000,
        written_off=2_000_000,
    )
    program: Program
    region_code: str = Field(
        description="2-digit province (the summary) or the allocation's region (the ledger)"
    )
    paid: int = Field(description="Aid the bank paid")
    no_lpj_owed: int = Field(
        description="Paid to groups that owe no LPJ: Padat Karya wages (paid against accepted muster "
        "rolls), TKM groups submitted before the LPJ rule"
    )
    accounted: int = Field(description="Accounted for by accepted LPJs")
    awaiting_lpj: int = Field(description="Paid, LPJ not yet accepted, no receivable")
    under_recovery: int = Field(description="Receivables still owed")
    recovered: int = Field(description="Repaid on receivables")
    written_off: int = Field(description="Written off by a supervisor")


class LedgerRowOut(BaseModel):
    model_config = example_config(
        program="tkm",
        region_code="31",
        amount=5_000_000_000,
        reserved=20_000_000,
        spent=100_000_000,
        available=4_880_000_000,
        accounts=example_of(AidAccountsOut),
    )
    program: Program
    region_code: str = Field(description="The allocation's province or regency")
    amount: int
    reserved: int
    spent: int = Field(description="The ledger's spending: equals `accounts.paid`")
    available: int
    accounts: AidAccountsOut = Field(description="What became of the aid this allocation paid")


# The columns of the LPJ list's CSV and XLSX exports, in order (`GET /reports/lpj`, the dashboard's).
LPJ_COLUMNS = (
    "group_id",
    "name",
    "region_code",
    "status",
    "paid",
    "paid_at",
    "due_on",
    "days_overdue",
    "accounted",
    "awaiting",
    "under_recovery",
    "recovered",
    "written_off",
    "escalation_level",
)
