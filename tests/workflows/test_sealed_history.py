"""Personal data sealed in Temporal: a Padat Karya group (every worker with a phone, a birth date and a
wage account) taken from its proposal to the paid wages on the real dev server, then its history read
as Temporal stores it, with the real `temporal workflow show` CLI. No NIK, +62 phone, account number
or birth date may appear in clear, nor inside any base64 field the CLI prints (that is where plain
payloads sit); the search attributes and memo carry none either."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notify_client import NotifyClient
from infra.embedded import temporal_cli_path
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program, compressed_policies
from jps.domain.roles import Role
from jps.domain.stages import Stage
from jps.sealing import DATA_CONVERTER, ENCODING
from jps.search_attributes import SEARCH_ATTRIBUTES
from tests.factories import equal_split, officer, proposal
from tests.workflows.harness import Harness, fund, running_worker
from worker import WORKFLOWS, build_activities

POLICIES = compressed_policies(seconds_per_day=0.05)
VERIFIER, TRAINER, FINANCE = (officer(r) for r in (Role.VERIFIER, Role.TRAINER, Role.FINANCE))
SIXTEEN_DIGITS = re.compile(rb"(?<!\d)\d{16}(?!\d)")


@pytest.fixture
async def h(dev_client: Client, db: asyncpg.Pool, simulators: Any, bank_sim: Any) -> AsyncIterator[Harness]:
    await fund(db)
    async with running_worker(dev_client, db, simulators.bank_url, simulators.notify_url) as harness:
        yield harness


def personal_data(p: Proposal) -> list[bytes]:
    values = [p.bank_account.account_no]
    for m in p.members:
        values += [m.nik, m.phone, m.phone.removeprefix("+")]
        if m.birth_date:
            values.append(m.birth_date.isoformat())
        if m.bank_account:
            values.append(m.bank_account.account_no)
    return [v.encode() for v in values]


# The SDK's hexadecimal identifiers of the worker's code: 32 hex digits hold 16 decimal ones in a row
# about once in 260 builds (a build of this repository did: `a1ed2206752069242761bb88…`).
# Skipped by the sixteen-digit scan only; the proposal's own values are looked for there too.
CODE_IDENTIFIERS = ("buildId", "binaryChecksum")


def strings(node: Any, *, skip: tuple[str, ...] = ()) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key not in skip:
                yield from strings(value, skip=skip)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, skip=skip)


def readable(text: str) -> list[bytes]:
    """The string, and what it decodes to when it is base64 (the CLI prints payload data so)."""
    out = [text.encode()]
    try:
        out.append(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        pass
    return out


def leaks(document: Any, secrets: list[bytes]) -> list[str]:
    found: list[str] = []
    for text in strings(document):
        for blob in readable(text):
            found += [s.decode() for s in secrets if s in blob]
    for text in strings(document, skip=CODE_IDENTIFIERS):
        for blob in readable(text):
            found += [f"16 digits {m.group().decode()}" for m in SIXTEEN_DIGITS.finditer(blob)]
    return found


def payload_encodings(node: Any) -> Iterator[str]:
    """The `encoding` metadata of every payload in the document (base64, as the CLI prints it), but
    those of search attributes (the server indexes them, so they are never sealed; they hold only
    programme, stage, region and escalation level: checked below) and of `workflow.patched` markers
    (the SDK writes the patch id itself, unencoded), and the SDK's own record of a local activity in
    its marker (`details.data`: the activity's type, attempt and times, unencoded; the activity's
    result beside it, `details.result`, is sealed like every payload)."""
    if isinstance(node, dict):
        metadata = node.get("metadata")
        if isinstance(metadata, dict) and "data" in node and "encoding" in metadata:
            yield metadata["encoding"]
        for key, value in node.items():
            local_activity_data = key == "data" and isinstance(value, dict)  # a payload's own is a str
            if key not in ("searchAttributes", "patch-data") and not local_activity_data:
                yield from payload_encodings(value)
    elif isinstance(node, list):
        for value in node:
            yield from payload_encodings(value)


def temporal_cli(env: WorkflowEnvironment, *args: str) -> Any:
    address = env.client.service_client.config.target_host
    done = subprocess.run(
        [
            temporal_cli_path(),
            "workflow",
            *args,
            "-o",
            "json",
            "--address",
            address,
            "--namespace",
            env.client.namespace,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


async def test_workflow_show_of_a_paid_group_holds_no_personal_data_in_clear(
    h: Harness, dev_env: WorkflowEnvironment
) -> None:
    submitted = proposal(Program.PADAT_KARYA, size=10)
    # The equal split pays every worker's account at once right after approval: the most personal
    # data in one history without driving weekly muster rolls (groups submitted before the rule).
    handle, state = await h.submit(submitted, policy=equal_split(POLICIES[Program.PADAT_KARYA]))
    today = local_date(state.submitted_at)
    await h.act(handle, "verify", VERIFIER, decision="approve", notes="lengkap")
    await h.act(handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK")
    await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in submitted.members])
    await h.act(handle, "approve-disbursement", FINANCE, amount=9_500_000)
    deadline = time.monotonic() + 30
    while (current := await h.state(handle)).stage != Stage.MENTORING:  # wages paid
        assert time.monotonic() < deadline, f"still {current.stage}"
        await asyncio.sleep(0.2)
    # Through the client (which holds the key) the members are all there...
    assert {m.nik for m in current.proposal.members} == {m.nik for m in submitted.members}

    history = await asyncio.to_thread(temporal_cli, dev_env, "show", "-w", handle.id)
    secrets = personal_data(submitted)
    assert secrets and leaks(history, []) == [] and leaks(history, secrets) == []
    # ...and every payload Temporal stored is sealed: the start input, the update arguments and
    # results, the activities' inputs and results, the bank's signals.
    encodings = [base64.b64decode(e) for e in payload_encodings(history)]
    assert len(encodings) > 20 and set(encodings) == {ENCODING}
    # The sealed start input opens with the key into the proposal itself.
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    payload = Payload(
        metadata={k: base64.b64decode(v) for k, v in started["metadata"].items()},
        data=base64.b64decode(started["data"]),
    )
    [opened] = await h.client.data_converter.payload_codec.decode([payload])  # type: ignore[union-attr]
    assert submitted.members[0].nik.encode() in opened.data

    # A group starts with its search attributes (infra/lifecycle.py) and upserts those that change.
    started_with = history["events"][0]["workflowExecutionStartedEventAttributes"]["searchAttributes"]
    upserted = set(started_with["indexedFields"]) | {
        name
        for event in history["events"]
        if "upsertWorkflowSearchAttributesEventAttributes" in event
        for name in event["upsertWorkflowSearchAttributesEventAttributes"]["searchAttributes"][
            "indexedFields"
        ]
    }
    assert upserted == {key.name for key in SEARCH_ATTRIBUTES} | {"TemporalChangeVersion"}  # patch ids

    described = await asyncio.to_thread(temporal_cli, dev_env, "describe", "-w", handle.id)
    info = described["workflowExecutionInfo"]
    assert leaks(info.get("searchAttributes", {}), secrets) == []
    assert leaks(info.get("memo", {}), secrets) == []


async def test_a_group_started_before_the_codec_goes_on_under_it(
    dev_env: WorkflowEnvironment, db: asyncpg.Pool, simulators: Any, bank_sim: Any
) -> None:
    """A group submitted and verified by a worker and client without the codec (plain payloads), then
    taken on by sealing ones: its plain history replays, its next steps are sealed."""
    await fund(db)
    address = dev_env.client.service_client.config.target_host
    plain_client = await Client.connect(
        address, namespace=dev_env.client.namespace, data_converter=DATA_CONVERTER
    )
    submitted = proposal(Program.TKM)
    async with running_worker(plain_client, db, simulators.bank_url, simulators.notify_url) as before:
        handle, state = await before.submit(submitted, policy=POLICIES[Program.TKM])
        await before.act(handle, "verify", VERIFIER, decision="approve", notes="lengkap")
        before.started.clear()  # it keeps running
    queue, gid = before.task_queue, handle.id

    sealed_handle = dev_env.client.get_workflow_handle(gid)
    bank, notify = BankClient(simulators.bank_url), NotifyClient(simulators.notify_url)
    try:
        async with Worker(
            dev_env.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=build_activities(db, bank, notify),
        ):
            today = local_date(state.submitted_at)
            after = await Harness.act(
                sealed_handle, "schedule-training", TRAINER, starts_on=today, ends_on=today, venue="BLK"
            )
            assert after.stage == Stage.TRAINING
            assert (await Harness.state(sealed_handle)).proposal.members[0].nik == submitted.members[0].nik
            history = await asyncio.to_thread(temporal_cli, dev_env, "show", "-w", gid)
            await sealed_handle.terminate("test finished")
    finally:
        await bank.aclose()
        await notify.aclose()
    encodings = [base64.b64decode(e) for e in payload_encodings(history)]
    assert b"json/plain" in encodings and ENCODING in encodings  # before, and after the codec
    # the steps after the switch are all sealed: from the first sealed payload on, nothing plain
    assert b"json/plain" not in encodings[encodings.index(ENCODING) :]


def test_the_scan_finds_sixteen_digits_anywhere_but_in_the_code_identifiers() -> None:
    history = {
        "events": [
            {"workerVersion": {"buildId": "a1ed2206752069242761bb882d7657f2"}},
            {"failure": {"message": "refused: 3171010101802053 unknown"}},
            {"data": base64.b64encode(b'{"nik": "3273010101900001"}').decode()},
        ]
    }
    assert leaks(history, []) == ["16 digits 3171010101802053", "16 digits 3273010101900001"]
    # A secret is looked for everywhere, the code identifiers too.
    assert leaks(history, [b"2206752069242761"])[0] == "2206752069242761"
