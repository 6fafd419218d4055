"""What `jps repair-failed` prints: per group, the workflow's end, the bank's word on each transfer, and
what the repair does (or, in a dry run, would do); then one summary line."""

from __future__ import annotations

from rich.console import Console

from tools.repair import GroupRepair


def _rp(amount: int | None) -> str:
    return "-" if amount is None else f"Rp {amount:,}"


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_group(console: Console, g: GroupRepair, *, applied: bool) -> None:
    closed = g.run.closed_at.isoformat() if g.run.closed_at else "-"
    head = f"group {g.run.group_id}: workflow {g.run.status} (run {g.run.run_id}, closed {closed})"
    if g.verdict == "not_broken":
        _say(console, f"{head}: not broken, left alone")
        return
    if g.verdict == "no_read_model":
        _say(console, f"{head}: not in the read model, nothing to repair")
        return
    _say(console, f"{head}, stage {g.stage}, {g.active_members} active member(s)")
    for t in g.transfers:
        bank = f"bank {t.bank}" + (f" {_rp(t.bank_amount)}" if t.bank_amount is not None else "")
        why = f" ({t.bank_reason})" if t.bank_reason else ""
        _say(
            console,
            f"  transfer {t.transfer_id} attempt {t.attempt} {_rp(t.amount)}: ours {t.ours}, {bank}{why}",
        )
    if g.verdict == "nothing":
        _say(console, "  nothing to do: closed in the read model, no open reservation, NIKs free")
        return
    if g.verdict == "wait":
        _say(
            console,
            f"  waits: the bank has not given its final word on {', '.join(g.waits_on)}; run again later",
        )
        return
    verb = "" if applied else "would "
    for r in g.reservations:
        drew = (
            f"{verb}draw {_rp(r.paid)} the bank paid of the outstanding wages "
            f"({_rp(r.drawn)} drawn before), then "
            if r.wage_bill
            else ""
        )
        _say(
            console,
            f"  reservation {r.reservation_id} {_rp(r.amount)}: {drew}{verb}settle "
            f"{_rp(r.spent)} spent, {_rp(r.released)} released",
        )
    if g.stage != g.target_stage:
        _say(console, f"  stage {g.stage} -> {g.target_stage}: {g.reason}")
    _say(console, f"  {verb}free {g.active_members} NIK(s), close the open tasks, write the audit row")
    outcome = "repaired" if g.repaired else "not repaired" if applied else "would repair (dry run)"
    _say(console, f"  {outcome}")


def print_report(console: Console, groups: list[GroupRepair], *, applied: bool) -> int:
    """Print every group and the summary; the exit code: 1 while a group still needs repair or waits."""
    for g in groups:
        print_group(console, g, applied=applied)
    repaired = sum(g.repaired for g in groups)
    to_repair = sum(g.verdict == "repair" and not g.repaired for g in groups)
    waiting = sum(g.verdict == "wait" for g in groups)
    nothing = sum(g.verdict in ("nothing", "no_read_model", "not_broken") for g in groups)
    mode = "applied" if applied else "dry run: nothing changed; --apply to repair"
    _say(
        console,
        f"repair-failed: groups={len(groups)} repaired={repaired} to_repair={to_repair} waiting={waiting} "
        f"nothing_to_do={nothing} ({mode})",
    )
    return 1 if to_repair or waiting else 0
