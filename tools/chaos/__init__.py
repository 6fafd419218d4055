"""`make chaos` / `jps chaos`: never stuck, never twice, while everything around the workflows fails.

One run over groups of both programmes (300 for `make chaos`; half of them above the maker-checker
threshold) arriving one by one on a stack of its own, driven by the officers of
`tools/chaos/drive.py`, while:

- the bank simulator injects every fault it has: latency, 5xx, timeouts after the money moved,
  transfers accepted then failed, duplicate, delayed (so out-of-order) and dropped callbacks, an
  answer lost then a 422 for the retry (timeout_then_reject), a 409 for a transfer in flight,
  transfers pending longer than the policy's investigation period, and "failed" callbacks for
  transfers it then pays;
- the notification gateway answers every message 5 s late;
- the stack itself is disrupted (`tools/chaos/disrupt.py`): the worker killed with SIGKILL at random
  moments, some inside payment batches, and started again; PostgreSQL restarted on the same data;
  the Temporal dev server restarted on the same database file.

The policies' clock is compressed (a policy file, `JPS_POLICY_FILE` of the run's stack) so that
polls, investigations and budget re-checks happen in seconds. Finance acts on the tasks the bank's
troubles open where the bank's own status allows it. At the end the bank's statement is compared
with our ledger and the invariants are checked (`tools/chaos/check.py`):

    chaos: groups=N faults=K duplicates=D lost=L stuck=S failed_workflows=F

K counts the faults actually injected (the bank's counters, latency aside; the gateway's late
answers; the disruptions done). The run fails unless D, L, S and F are 0 and every invariant holds.
`ChaosPlan.short()` is the variant tests/disbursement/test_chaos.py runs in `make test`.
"""

from tools.chaos.check import ChaosFigures, check_exactly_once
from tools.chaos.plan import (
    CHAOS_BANK_TIMEOUT_S,
    CHAOS_FAULTS,
    ChaosGroup,
    ChaosPlan,
    beneficiaries,
    chaos_groups,
    chaos_policies,
)
from tools.chaos.run import run_chaos

__all__ = [
    "CHAOS_BANK_TIMEOUT_S",
    "CHAOS_FAULTS",
    "ChaosFigures",
    "ChaosGroup",
    "ChaosPlan",
    "beneficiaries",
    "chaos_groups",
    "chaos_policies",
    "check_exactly_once",
    "run_chaos",
]
