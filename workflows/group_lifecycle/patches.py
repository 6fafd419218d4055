"""`workflow.patched` ids: each names a change to the lifecycle's command sequence. Histories under
tests/histories recorded before a patch replay through its old branch; see docs/architecture.md for
when a change gets a patch and when it gets a new workflow type instead."""

from __future__ import annotations

# One activity checks the freeze and reserves the budget; the settlement rides in the record.
LEDGER_STEPS = "ledger-steps-merged-v1"
# Above the maker-checker threshold, new bank details need a fresh authorization.
REAUTHORIZE_NEW_ACCOUNT = "reauthorize-new-account-v1"
# Issue 10: only the bank's own status decides a transfer (send_transfers / transfer_statuses: a
# failure is confirmed before any replacement, polls back off, an overdue answer opens an
# investigation, a frozen region holds unsent transfers); an activity error never fails the group;
# a fixed account resets the automatic retries and waits only for permanently refused accounts.
BANK_STATUS_DECIDES = "bank-status-decides-v1"
# A group whose history passes the policy's length continues as new, carrying its whole state (a
# check at the top of every main-loop turn; histories that grew long before it replay without it).
CONTINUE_AS_NEW = "continue-as-new-v1"
# The investigation of an overdue bank answer opens after the polls' own intervals add up to the
# policy's period, not by reading the clock (a worker's first task after another one died can read an
# earlier time than its replay: a time comparison there is a non-determinism waiting to happen).
INVESTIGATION_BY_POLLS = "investigation-by-polls-v1"
# Issue 12: a paid TKM group owes an LPJ (use-of-funds report) beside mentoring; what it does not
# account for becomes a receivable (recovery). Only groups whose policy carries `lpj` reach it.
LPJ = "lpj-v1"
# Issue 13: Padat Karya paid by muster rolls, weekly (muster.py, wages.py). Only groups whose policy
# carries `wages` reach it; the approval of such a group's wage bill marks the history with it.
WEEKLY_WAGES = "weekly-wages-v1"
# Issue 13: a worker's owed weekly wages re-sent to new bank details above the weekly threshold (the
# worker's owed amount, or the total of a week being re-sent) wait for a supervisor's authorization
# (authorize-wages {member_nik}), as the lump sum's do under REAUTHORIZE_NEW_ACCOUNT.
REAUTHORIZE_NEW_WAGE_ACCOUNT = "reauthorize-new-wage-account-v1"
# A repayment's reference (NTPN) is recorded once: the same deposit sent again (a client retrying
# after a 503, a double click) is refused, also when both arrive together (checked again under the lock).
REPAYMENT_ONCE = "repayment-once-v1"
# The same for a write-off: the same amount with the same reason, sent again, writes off once.
WRITE_OFF_ONCE = "write-off-once-v1"
# Issue 15, a smaller history per group (one id for both changes: each patch id costs the history a
# marker and an upsert of TemporalChangeVersion, which is what the second change saves):
# - a step is recorded by a local activity (`record_step`: one marker instead of three activity
#   events, and an officer's update answered within one workflow task); one that has not recorded
#   within LOCAL_RECORD_WITHIN falls back to the `record_transition` activity (retried for as long
#   as it takes, with no history of its own), the same step by (group_id, seq, run_id);
# - search attributes are upserted only when a value changes (before, every transition and
#   escalation upserted the stage and the escalation level).
SMALLER_HISTORY = "smaller-history-v1"
# Issue 15, a history under 100 events for a TKM group (one id for every change, decided once when a
# run starts: `LifecycleBase._since`):
# - a group started under this id takes every older patch's new branch without asking for it (each
#   older id asked cost its history a marker and an upsert of TemporalChangeVersion: a TKM group
#   asked four); a group started before it asks them as it always did;
# - the budget reservation (`reserve_budget`: the freeze check and the reservation, one transaction
#   idempotent by reservation id) is a local activity, one marker instead of three activity events
#   and a workflow task; past LOCAL_RECORD_WITHIN it falls back to the ordinary activity (budget.py);
# - the escalation timer running when the group closes is left to the closing, not cancelled (tasks.py).
LEANER_HISTORY = "leaner-history-v1"
# Issue 10: an attempt's settlement (`aid_paid`, `payment_retry`, `payment_failed`) counts only once
# its record is written. A record refused for good puts the state back (the attempt in flight, its
# reservation, the bank's word kept), opens finance's `investigate_payment` and tries the record again,
# backing off; before, the settled state stayed in memory unrecorded (a group in mentoring that the
# read model, the ledger and the officers never saw). Asked only on that failure path, so a normal
# history carries no marker; asked with `workflow.patched` itself, never through `_since`: a run
# started under LEANER_HISTORY before this id existed may have taken the old path.
# The same id guards the same promise on the weekly wage path (wages.py: a batch's `wages_paid` /
# `wages_partly_paid`, the work period's `work_period_completed`), added later: reusing it is safe
# because it is asked only where a settlement's record was refused for good. A wage run that met such a
# refusal before carries no marker there, so its replay takes the old path as it ran; a run whose
# history has the marker asked it at a refusal the current code asks it at too. A lump-sum run never
# reaches the wage path nor a wage run the lump sum's, so no earlier answer of the id is memoized
# elsewhere in the same run.
SETTLEMENT_RECORDED_FIRST = "settlement-recorded-first-v1"
# Issue 15, a Padat Karya history under 200 events over four weekly wage runs (a starting patch, see
# STARTING below):
# - a week's muster roll is written by a local activity (`record_muster`, idempotent by the roll's
#   key): one marker instead of three activity events and the workflow task that resumed the
#   `submit-muster` update; past LOCAL_RECORD_WITHIN, or on a refusal, the ordinary activity (muster.py).
LOCAL_ROLLS = "local-rolls-v1"
# Issue 15, fewer workflow tasks per payment (a starting patch): the bank's status of the transfers in
# flight (`transfer_statuses`: reads, and sends a never-received transfer again with its original
# key, so asking twice is harmless) is asked by a local activity first, inside the workflow task
# that heard the callback; past LOCAL_RECORD_WITHIN, or on any failure, the ordinary activity asks
# as before (bank.py `_ask`). `send_transfers`, which moves the money, stays an ordinary activity.
LOCAL_ASKS = "local-asks-v1"

# The starting patches, newest first. Each is asked in a run's first workflow task until one is in
# force (`GroupLifecycleWorkflow.__init__`): a run started under one takes it and every older one
# (and every id above LEANER_HISTORY) without asking, so a new group's history holds one marker.
STARTING: tuple[str, ...] = (LOCAL_ASKS, LOCAL_ROLLS, LEANER_HISTORY)
