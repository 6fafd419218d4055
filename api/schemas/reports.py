"""The summary report: per programme and stage, groups, people and amounts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of
from api.schemas.dashboard import AidAccountsOut
from jps.domain.programs import Program
from jps.domain.stages import Stage

# A report's day outside these is a typo, not a question: 422 naming the parameter (asyncpg would take
# any date). The API's reports and the console's dashboard check the same bounds.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


class StageSummaryOut(BaseModel):
    model_config = example_config(
        stage="mentoring",
        groups=1985,
        people=39700,
        requested_amount=19_850_000_000,
        approved_amount=19_850_000_000,
        paid_amount=19_850_000_000,
    )
    stage: Stage
    groups: int
    people: int
    requested_amount: int
    approved_amount: int
    paid_amount: int


class ProgramSummaryOut(BaseModel):
    model_config = example_config(
        program="tkm",
        label="Tenaga Kerja Mandiri",
        groups=1985,
        people=39700,
        disbursed_groups=1985,
        disbursed_people=39700,
        requested_amount=19_850_000_000,
        approved_amount=19_850_000_000,
        paid_amount=19_850_000_000,
        stages=[example_of(StageSummaryOut)],
        accounts={**example_of(AidAccountsOut), "region_code": "*"},
    )
    program: Program
    label: str
    groups: int
    people: int
    disbursed_groups: int = Field(description="Groups with aid paid (at least one transfer confirmed)")
    disbursed_people: int
    requested_amount: int
    approved_amount: int
    paid_amount: int
    stages: list[StageSummaryOut]
    accounts: AidAccountsOut = Field(
        description="The programme's aid paid and what became of it over the scope (`region_code` *)"
    )


class SummaryOut(BaseModel):
    model_config = example_config(
        as_of="2020-10-02",
        regions=["*"],
        programs=[example_of(ProgramSummaryOut)],
        accounts=[example_of(AidAccountsOut)],
    )
    as_of: date | None = Field(description="End of this day (Asia/Jakarta); null = now")
    regions: list[str] = Field(description="The officer's region scope the figures cover")
    programs: list[ProgramSummaryOut]
    accounts: list[AidAccountsOut] = Field(
        description="Per programme and province: aid paid = no LPJ owed + accounted + awaiting LPJ + under "
        "recovery + recovered + written off"
    )
