"""What a chaos run does: how many groups arrive and when, the bank's and the gateway's faults, the
compressed policies, and which disruptions of the stack happen (`ChaosPlan.full()` for `make chaos`,
`ChaosPlan.short()` for the test)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from infra import lifecycle
from jps.domain.models import Proposal
from jps.domain.programs import Program, ProgramPolicy, compressed_policies, load_policies
from jps.domain.wages import Worksite
from jps.settings import OUTBOX_CLAIM_LEASE_MIN_S
from tools import seed

# Every bank fault mode at once. The bank client's timeout (CHAOS_BANK_TIMEOUT_S) is well below
# `hang_s`, so a timeout after commit is seen as a timeout and retried with the same key.
# `long_pending_s` is longer than the policy's `payment_investigation_after`: those transfers open
# an investigate_payment task for finance before the bank settles them.
CHAOS_FAULTS: dict[str, Any] = {
    "latency_ms": 30,
    "error_rate": 0.05,
    "timeout_after_commit_rate": 0.06,
    "hang_s": 1.5,
    "accepted_then_failed_rate": 0.05,
    "duplicate_callback_rate": 0.3,
    "out_of_order_callbacks": True,
    "out_of_order_window_ms": 400,
    "drop_callback_rate": 0.2,
    "timeout_then_reject_rate": 0.03,
    "conflict_in_flight_rate": 0.5,
    "long_pending_rate": 0.02,
    "long_pending_s": 45.0,
    "false_failure_callback_rate": 0.03,
}
CHAOS_BANK_TIMEOUT_S = 0.5
CHAOS_REPLAY_RESET_EVERY_S = 20.0  # the workers' sweep of unreplayable groups (300 s outside chaos)
# A transfer stays pending this long at the bank (default 500 ms): replays of a transfer in flight,
# which the bank may answer with a 409, become likely.
CHAOS_SETTLE_DELAY_MS = 1000
# A slow notification gateway: every message is stored, its answer comes 5 s later.
CHAOS_NOTIFY_FAULTS: dict[str, Any] = {"answer_delay_ms": 5000}
ABOVE_THRESHOLD = {Program.TKM: 20_000_000, Program.PADAT_KARYA: 40_000_000}
# Padat Karya groups are paid by muster rolls (issue 13): two weeks of two workdays each, the week's
# run above this needing a supervisor's authorization (the groups above the maker-checker threshold
# have every member at work, the others half of them: runs of Rp 4,000,000 and Rp 2,000,000).
WAGE_RULE: dict[str, Any] = {"planned_workdays": 4, "authorize_weekly_above": 3_000_000}
WORKSITE = Worksite(lat=-6.2, lon=106.85, radius_m=300)


@dataclass(frozen=True)
class ChaosPlan:
    """One run's shape. Times are seconds from the first group's arrival."""

    per_programme: int = 150
    arrival_s: float = 150.0  # groups arrive one by one, evenly spread over this
    worker_kills: int = 6
    kills_in_batch: int = 4  # of those, wait for a payment batch on the wire (up to 30 s) first
    postgres_restarts: int = 1
    temporal_restarts: int = 1
    # The disruptions happen in this window, counted from the first transfer the bank receives, at
    # least min_gap_s apart (so that each has its own effect, and the report can tell which).
    disrupt_from_s: float = 5.0
    disrupt_until_s: float = 160.0
    min_gap_s: float = 8.0
    wait_s: float = 300.0  # after the last arrival, how long the groups may take to be paid
    drain_s: float = 180.0  # then, how long the outbox may take to drain (faults off)
    seconds_per_day: float = 20.0  # the policy's clock: SLAs, escalations, mentoring
    bank_poll_after: float = 2.0
    bank_poll_max: float = 8.0
    payment_investigation_after: float = 30.0
    budget_retry_every: float = 5.0
    bank_faults: dict[str, Any] = field(default_factory=lambda: dict(CHAOS_FAULTS))
    notify_faults: dict[str, Any] = field(default_factory=lambda: dict(CHAOS_NOTIFY_FAULTS))
    seed: int = 20201007
    # JPS_OUTBOX_CLAIM_LEASE_S of the run's worker (None: the caller's setting, else the product's
    # default). The drain waits out a killed worker's claims: the short run's lease is the shortest
    # the setting allows, so its drain is short too.
    claim_lease_s: float | None = None
    weekly_wages: bool = True  # Padat Karya paid by weekly muster rolls (False: the equal split)

    @classmethod
    def full(cls, per_programme: int = 150, **overrides: Any) -> ChaosPlan:
        """`make chaos`: 300 groups arriving two a second, six worker kills, one restart of PostgreSQL
        and one of Temporal while they arrive."""
        arrival = per_programme * 1.0
        base = cls(per_programme=per_programme, arrival_s=arrival, disrupt_until_s=max(30.0, arrival + 10))
        return replace(base, **overrides)

    @classmethod
    def short(cls, **overrides: Any) -> ChaosPlan:
        """The variant in `make test`: 20 groups, one disruption of each kind, well under 90 s."""
        # Rates a little higher than the full run's, so that each mode happens among 20 groups.
        faults = {**CHAOS_FAULTS, "long_pending_s": 14.0, "timeout_then_reject_rate": 0.05}
        faults |= {"timeout_after_commit_rate": 0.1}
        faults |= {"false_failure_callback_rate": 0.05, "long_pending_rate": 0.04}
        base = cls(
            per_programme=10,
            arrival_s=8.0,
            worker_kills=1,
            kills_in_batch=1,
            disrupt_from_s=1.0,
            disrupt_until_s=15.0,
            min_gap_s=3.0,
            wait_s=75.0,
            drain_s=90.0,  # a loaded CI machine: the outbox gets time to drain (ends as soon as it has)
            claim_lease_s=OUTBOX_CLAIM_LEASE_MIN_S,
            payment_investigation_after=8.0,
            bank_faults=faults,
        )
        return replace(base, **overrides)

    @property
    def groups(self) -> int:
        return 2 * self.per_programme

    def policy_overrides(self) -> dict[str, Any]:
        """The JPS_POLICY_FILE of the run's stack: the compressed clock, durations in seconds."""
        out: dict[str, Any] = {}
        for program, policy in compressed_policies(self.seconds_per_day).items():
            data = json.loads(policy.model_dump_json())
            data.update(
                bank_poll_after=self.bank_poll_after,
                bank_poll_max=self.bank_poll_max,
                payment_investigation_after=self.payment_investigation_after,
                budget_retry_every=self.budget_retry_every,
            )
            if program == Program.PADAT_KARYA and self.weekly_wages:
                data["wages"] = dict(WAGE_RULE)
            out[program.value] = data
        return out

    def write_policy_file(self, path: Path) -> dict[Program, ProgramPolicy]:
        """Write the policy file and answer the policies read back from it (one source for both)."""
        path.write_text(json.dumps(self.policy_overrides(), indent=2))
        return load_policies(path)


def chaos_policies(plan: ChaosPlan | None = None) -> dict[Program, ProgramPolicy]:
    """The run's policies without a file (tests that start workflows themselves)."""
    overrides = (plan or ChaosPlan()).policy_overrides()
    return {p: ProgramPolicy.model_validate(overrides[p.value]) for p in Program}


def beneficiaries(proposal: Proposal) -> list[str]:
    """The accounts a group's aid is owed to: TKM the group's, Padat Karya each worker's own."""
    if proposal.program == Program.TKM:
        return [proposal.bank_account.account_no]
    return [m.bank_account.account_no for m in proposal.members if m.bank_account is not None]


@dataclass
class ChaosGroup:
    key: str  # the seed's idempotency key; the group id follows from it
    proposal: Proposal

    @property
    def group_id(self) -> str:
        suffix = lifecycle.idempotent_suffix(seed.SEED_REGISTRAR, self.key)
        return lifecycle.group_id_for(self.proposal, suffix)


def chaos_groups(per_programme: int, run: str) -> list[ChaosGroup]:
    """`per_programme` groups of each programme (the demo cohort's people), interleaved; every
    second one asks for an amount above the maker-checker threshold, so a supervisor authorizes it."""
    out: list[ChaosGroup] = []
    for n in range(per_programme):
        for program in Program:
            proposal = seed.demo_proposal(program, n)
            if program == Program.PADAT_KARYA:
                proposal = proposal.model_copy(update={"worksite": WORKSITE})
            if n % 2:
                proposal = proposal.model_copy(update={"requested_amount": ABOVE_THRESHOLD[program]})
            out.append(ChaosGroup(f"chaos-{run}-{program.value}-{n}", proposal))
    return out
