"""Schemathesis over every operation of the OpenAPI document, against the real stack (uvicorn, PostgreSQL,
Temporal, a worker): an all-roles national officer's token, a fixed budget and seed. Two checks: no
answer is a 5xx, and every answer conforms to the status codes and schemas the document declares.

The fuzzer reaches the group operations because the path's `group_id` is drawn mostly from groups
submitted first (a fresh TKM group, a fresh Padat Karya group, one past verification), and a bulk
body's `group_ids` from the same; `freeze_id` from a freeze created first; `file_id` from an evidence
file uploaded first (so a download answers its bytes). A proposal's members are a
valid roster from the test factories (the rest of its body is generated), so submissions reach the
workflow. Other ids (import jobs, mismatches, officers) are generated and mostly answer 404.

`make test` runs `JPS_FUZZ_EXAMPLES` (default 15) examples per operation; `make fuzz` runs 100.
Hypothesis is derandomized: the same document draws the same cases."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pkgutil
import time
import traceback
from collections import Counter
from typing import Any

import httpx
import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.api.conftest import Stack, act, submit
from tests.evidence_files import pdf
from tests.factories import member, proposal

# Every schemathesis module imported now, at collection, before any test's stack runs threads: pytest
# assertion-rewrites the package of a pytest11 plugin as it is imported (ast.parse), and a lazy import
# inside the running stack failed on CPython 3.11 ("AST constructor recursion depth mismatch").
for _module in pkgutil.walk_packages(schemathesis.__path__, "schemathesis."):
    with contextlib.suppress(Exception):  # optional extras whose dependencies are not installed
        importlib.import_module(_module.name)

EXAMPLES = int(os.environ.get("JPS_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


async def _known_groups(http: httpx.AsyncClient, stack: Stack) -> list[str]:
    tkm = await submit(http, stack, proposal(Program.TKM, size=10))
    pk = await submit(http, stack, proposal(Program.PADAT_KARYA, size=10, region="3273"))
    verified = await submit(http, stack, proposal(Program.TKM, size=10))
    await act(http, stack, verified["group_id"], "verify", Role.VERIFIER, {"decision": "approve"})
    return [tkm["group_id"], pk["group_id"], verified["group_id"]]


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    base_url: str,
    token: str,
    ids: dict[str, list[Any]],
    statuses: Counter[int],
) -> None:
    """Run one operation's examples; raise the first failing check (shrunk by Hypothesis)."""
    session = requests.Session()
    session.trust_env = False  # the stack is on 127.0.0.1: no proxy from the environment
    session.headers["Authorization"] = f"Bearer {token}"
    path_names = [p.name for p in operation.path_parameters]
    known = {name: ids[name] for name in path_names if name in ids}
    if known:
        # Mostly the known ids; sometimes generated ones (unknown, or malformed: the 404 and 422 paths).
        strategy = st.one_of(
            st.fixed_dictionaries({k: st.sampled_from(v) for k, v in known.items()}).flatmap(
                lambda fixed: operation.as_strategy(path_parameters=fixed)
            ),
            operation.as_strategy(),
        )
    else:
        strategy = operation.as_strategy()

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy, group_ids=st.lists(st.sampled_from(ids["group_id"]), min_size=1, max_size=3))
    def run(case: schemathesis.Case, group_ids: list[str]) -> None:
        if isinstance(case.body, dict) and "group_ids" in case.body:
            case.body["group_ids"] = list[Any](group_ids)
        if operation.label == "POST /groups" and isinstance(case.body, dict):
            # No schema says "exactly one leader among 10 to 40 people with distinct, valid NIKs": the
            # members are a valid roster, every other field is the fuzzer's, so proposals get through.
            case.body["members"] = [
                member(i, leader=i == 0, with_account=True).model_dump(mode="json") for i in range(10)
            ]
        response = case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=60)
        statuses[response.status_code] += 1

    run()


async def test_fuzz_every_operation(stack: Stack, http: httpx.AsyncClient) -> None:
    groups = await _known_groups(http, stack)
    supervisor = stack.auth(Role.SUPERVISOR, regions=["*"])
    freeze = await http.post(
        "/budget/freezes", json={"reason": "fuzz seed", "region_code": "35"}, headers=supervisor
    )
    assert freeze.status_code == 201, freeze.text
    evidence = await http.post(
        f"/groups/{groups[0]}/files",
        files={"file": ("kwitansi.pdf", pdf(), "application/pdf")},
        data={"purpose": "receipt"},
        headers=stack.auth(Role.MENTOR, regions=["*"]),
    )
    assert evidence.status_code == 201, evidence.text
    ids: dict[str, list[Any]] = {
        "group_id": groups,
        "freeze_id": [freeze.json()["freeze_id"]],
        "file_id": [evidence.json()["file_id"]],
    }
    token = stack.token(list(Role), officer="fuzz-officer", regions=["*"])

    schema = schemathesis.openapi.from_dict(
        (await http.get("/openapi.json")).json(), config=schemathesis.Config()
    )
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    failures: list[str] = []
    started = time.monotonic()
    answered: dict[str, Counter[int]] = {}
    for operation in operations:
        statuses = answered[operation.label] = Counter()
        try:
            await asyncio.to_thread(_fuzz_operation, operation, stack.url, token, ids, statuses)
        # Each operation's failure is collected (schemathesis raises a BaseExceptionGroup); the run goes on.
        # Each with its whole traceback and sub-exceptions: a failure Hypothesis could not reproduce
        # ("Inconsistent results") says what the first run saw only there.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {''.join(traceback.format_exception(exc))}")
    elapsed = time.monotonic() - started
    print(f"\nfuzzed {len(operations)} operations x {EXAMPLES} examples in {elapsed:.1f} s")
    for label, statuses in answered.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    assert len(operations) >= 40
    assert not failures, "\n\n".join(failures)
