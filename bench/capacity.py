"""The capacity curve: steady open-loop action rates stepped up until the officers' action p99 passes
`LIMIT_MS`; the highest rate that held, and how many officers that serves.

A step holds when its action p99 is under the limit and the cohort had work enough for the rate
(achieved at least `STARVED_BELOW` of it): a step that ran out of open tasks measured a lighter
load than it names, so it neither holds nor ends the curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.paced import PacedOfficers

LIMIT_MS = 1000.0
STARVED_BELOW = 0.8
OFFICER_EVERY_S = 30.0  # an officer at a human pace acts about every 30 seconds


@dataclass
class CapacityResult:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def curve(self) -> list[dict[str, Any]]:
        return [
            {
                "rate": s["rate"],
                "p50_ms": s["action"]["p50_ms"],
                "p99_ms": s["action"]["p99_ms"],
                "achieved": s["achieved_actions_per_s"],
                "n": s["action"]["n"],
                "starved": _starved(s),
            }
            for s in self.steps
        ]

    def held(self) -> float:
        """The highest rate whose step held (0 when none did)."""
        rates = [s["rate"] for s in self.steps if _held(s)]
        return max(rates, default=0.0)

    def figures(self) -> dict[str, Any]:
        held = self.held()
        return {
            "capacity_curve": self.curve(),
            "capacity_actions_per_s": held,
            "officers_served": round(held * OFFICER_EVERY_S),
            "capacity_steps": self.steps,
        }


def _starved(step: dict[str, Any]) -> bool:
    return bool(step["achieved_actions_per_s"] < STARVED_BELOW * step["rate"])


def _held(step: dict[str, Any]) -> bool:
    p99 = step["action"]["p99_ms"]
    return p99 is not None and p99 < LIMIT_MS and not _starved(step)


async def capacity_curve(
    officers: PacedOfficers,
    rates: Sequence[float],
    step_s: float,
    reads_per_s: Callable[[float], float],
    say: Callable[[str], None],
) -> CapacityResult:
    """Each rate for `step_s` seconds, in increasing order, until a step's action p99 passes the
    limit (that step is the curve's last)."""
    out = CapacityResult()
    for rate in sorted(rates):
        step = (await officers.load(rate, step_s, reads_per_s(rate))).summary()
        out.steps.append(step)
        action = step["action"]
        say(
            f"capacity {rate:g}/s: achieved {step['achieved_actions_per_s']}/s, "
            f"p50 {action['p50_ms']} ms, p99 {action['p99_ms']} ms"
            + (" (ran short of open tasks)" if _starved(step) else "")
        )
        if action["p99_ms"] is not None and action["p99_ms"] >= LIMIT_MS:
            break
    return out
