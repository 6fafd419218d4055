"""Importing many proposals from a CSV or XLSX file (registrar), as a job with progress.

Every row is validated before anything is submitted, and every bad row is reported with its line,
column and reason; a group with a bad row is not submitted, the others are. `?dry_run=true` stops
after validation (including NIKs already in active groups) and changes nothing. A group's id comes
from the registrar and its `group_ref`, so importing the same file again creates nothing twice, and
a corrected file creates only the groups that failed before.

Small files are processed within the request (200); large ones in the background (202 with the
job, then `GET /groups/import/{job_id}`). Jobs live in the API process's memory: a restarted API
forgets them, but not what they created (re-import the file to see each group as `existing`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile, status
from temporalio.client import Client

from api import importer
from api.deps import CurrentOfficer, Registrar, Services, ServicesDep, TemporalDep
from api.errors import AUTHED, responses
from api.queries import groups as group_queries
from api.queries import members
from api.schemas import ImportJobOut, RowResult
from api.service import other_group_named, submit
from infra import lifecycle
from jps.domain.models import Officer
from jps.domain.roles import NATIONAL, Role, region_in_scope

log = structlog.get_logger()
router = APIRouter(prefix="/groups/import", tags=["imports"])

INLINE_MAX_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
# Submissions in flight: each waits on Temporal and the worker's registration, not on this process;
# 16 left the worker idle between them (bench, scale 0.1: 19.9 -> 16.7 s with 64 and the audit change).
SUBMIT_CONCURRENCY = 64
_KEEP_JOBS = 200


class ImportJobs:
    """The jobs of this API process; the oldest finished ones are forgotten beyond `keep`."""

    def __init__(self, keep: int = _KEEP_JOBS) -> None:
        self.keep = keep
        # job id: (uploader, the uploader's regions, the job)
        self.jobs: OrderedDict[str, tuple[str, tuple[str, ...], ImportJobOut]] = OrderedDict()
        self.tasks: set[asyncio.Task[None]] = set()

    def create(self, officer: Officer, filename: str, dry_run: bool) -> ImportJobOut:
        job = ImportJobOut(
            job_id=f"imp-{secrets.token_hex(6)}",
            status="running",
            dry_run=dry_run,
            filename=filename,
            rows=0,
            groups=0,
            processed_groups=0,
            started_at=datetime.now(UTC),
        )
        self.jobs[job.job_id] = (officer.id, tuple(officer.regions), job)
        while len(self.jobs) > self.keep:
            oldest = next((k for k, (_, _, j) in self.jobs.items() if j.status != "running"), None)
            if oldest is None:
                break
            del self.jobs[oldest]
        return job

    def get(self, job_id: str, officer: Officer) -> ImportJobOut | None:
        """The job, for its uploader, or an auditor whose scope covers every region of the uploader's
        (a regional auditor does not read a national registrar's results)."""
        found = self.jobs.get(job_id)
        if found is None:
            return None
        uploader, regions, job = found
        if uploader == officer.id:
            return job
        if Role.AUDITOR in officer.roles and all(
            region_in_scope(r, officer.regions) if r != NATIONAL else NATIONAL in officer.regions
            for r in regions
        ):
            return job
        return None

    def start(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)  # keep a reference, or the loop may collect a running task
        task.add_done_callback(self.tasks.discard)
        return task

    async def shutdown(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


JOBS = ImportJobs()


def _tally(job: ImportJobOut, result: RowResult) -> None:
    job.results.append(result)
    if result.status == "invalid":
        job.invalid_rows += 1


def _group_result(job: ImportJobOut, group: importer.GroupInFile, state: str, **kw: Any) -> None:
    _tally(job, RowResult(row=group.first_line, group_ref=group.ref, status=state, **kw))
    if state == "created":
        job.created += 1
    elif state == "existing":
        job.existing += 1
    elif state == "conflict":
        job.conflicts += 1
    elif state == "failed":
        job.failed += 1
    job.processed_groups += 1


def _refuse_rows(job: ImportJobOut, group: importer.GroupInFile) -> None:
    conflict = any(e.kind == "conflict" for e in group.errors)
    for e in sorted(group.errors, key=lambda e: (e.line, e.column)):
        _tally(
            job, RowResult(row=e.line, group_ref=group.ref, status=e.kind, field=e.column, reason=e.reason)
        )
    if conflict:
        job.conflicts += 1
    job.processed_groups += 1


async def _check_against_database(
    services: Services, officer: Officer, groups: list[importer.GroupInFile]
) -> dict[str, tuple[str, bool]]:
    """Scope, policy, earlier imports and NIKs held by other active groups. Returns, per group ref,
    its id and whether it already exists; adds errors to the groups that cannot go ahead."""
    ids: dict[str, tuple[str, bool]] = {}
    suffixes: dict[str, str] = {}
    for g in groups:
        assert g.proposal is not None
        p = g.proposal
        if not region_in_scope(p.region_code, officer.regions):
            g.errors.append(
                importer.RowError(
                    g.first_line, "region_code", f"region {p.region_code} is outside your scope"
                )
            )
        for fld, reason in p.policy_errors(services.policies[p.program]):
            g.errors.append(importer.RowError(g.first_line, importer.policy_column(fld), reason))
        suffix = lifecycle.idempotent_suffix(officer.id, f"import:{g.ref}")
        suffixes[suffix] = g.ref
        ids[g.ref] = (lifecycle.group_id_for(p, suffix), False)
    earlier = await group_queries.groups_by_suffix(services.pool, suffixes=list(suffixes))
    by_ref = {g.ref: g for g in groups}
    for found in earlier:
        g = by_ref[suffixes[found.suffix]]
        assert g.proposal is not None
        if found.group_id == ids[g.ref][0] and found.request_hash == lifecycle.request_hash(g.proposal):
            ids[g.ref] = (found.group_id, True)
        else:
            g.errors.append(
                importer.RowError(
                    g.first_line,
                    "group_ref",
                    f"already imported as {found.group_id} with different data",
                )
            )
    niks = {m.nik: g.ref for g in groups if g.proposal for m in g.proposal.members}
    held = await members.active_groups_of(services.pool, niks=list(niks))
    for nik, group_id in held.items():
        g = by_ref[niks[nik]]
        if group_id == ids[g.ref][0]:
            continue  # the group itself, imported before
        assert g.proposal is not None
        line = g.lines[[m.nik for m in g.proposal.members].index(nik)]
        reason = f"already in {other_group_named(officer, group_id)}"  # none named outside the scope
        g.errors.append(importer.RowError(line, "nik", reason, "conflict"))
    return ids


async def _run(
    job: ImportJobOut, sheet: importer.Sheet, services: Services, client: Client, officer: Officer
) -> None:
    bound = log.bind(job_id=job.job_id, officer=officer.id)
    try:
        parsed = await asyncio.to_thread(importer.parse_sheet, sheet)
        job.rows, job.groups = parsed.rows, len(parsed.groups)
        for g in parsed.groups:
            if g.errors:
                _refuse_rows(job, g)
        candidates = [g for g in parsed.groups if g.proposal is not None]
        ids = await _check_against_database(services, officer, candidates)
        ready = []
        for g in candidates:
            if g.errors:
                _refuse_rows(job, g)
            elif ids[g.ref][1]:
                _group_result(job, g, "existing", group_id=ids[g.ref][0])
            elif job.dry_run:
                _group_result(job, g, "valid", group_id=None)
            else:
                ready.append(g)
        gate = asyncio.Semaphore(SUBMIT_CONCURRENCY)

        async def one(g: importer.GroupInFile) -> None:
            assert g.proposal is not None
            async with gate:
                try:
                    # _check_against_database looked up every ref's earlier group in one query
                    state = await submit(
                        services, client, officer, g.proposal, f"import:{g.ref}", key_checked=True
                    )
                except HTTPException as exc:
                    detail = (
                        exc.detail if isinstance(exc.detail, str) else "; ".join(d["msg"] for d in exc.detail)
                    )
                    kind = {409: "conflict", 422: "invalid", 403: "invalid"}.get(exc.status_code, "failed")
                    _group_result(job, g, kind, field="nik" if kind == "conflict" else None, reason=detail)
                except Exception as exc:  # one group's fault must not stop the rest of the file
                    bound.error("import_group_failed", group_ref=g.ref, error=repr(exc))
                    _group_result(job, g, "failed", reason=f"{type(exc).__name__}: {exc}")
                else:
                    _group_result(job, g, "created", group_id=state.group_id)

        await asyncio.gather(*(one(g) for g in ready))
        job.results.sort(key=lambda r: (r.row, r.field or ""))
        job.status = "done"
    except importer.FileError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:
        bound.exception("import_failed")
        job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        job.finished_at = datetime.now(UTC)
        bound.info(
            "import_finished",
            status=job.status,
            created=job.created,
            invalid_rows=job.invalid_rows,
            conflicts=job.conflicts,
            dry_run=job.dry_run,
        )


@router.post(
    "",
    response_model=ImportJobOut,
    summary="Import groups from a CSV or XLSX file (registrar); per-row results; ?dry_run=true",
    description=(
        "One line per member, grouped by `group_ref`; columns: "
        + ", ".join(f"`{c}`" for c in importer.COLUMNS)
        + ". Small files answer 200 with every result; files over 256 KiB (or `background=true`) answer "
        "202 with the job: follow `Location` (`GET /groups/import/{job_id}`) for progress and results. "
        "A file that cannot be read at all (format, missing columns) answers 422."
    ),
    responses={
        **responses(*AUTHED, 422),
        202: {"model": ImportJobOut, "description": "Processing in the background"},
    },
)
async def import_groups(
    officer: Registrar,
    services: ServicesDep,
    client: TemporalDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, comma or semicolon) or XLSX (first sheet)")],
    dry_run: Annotated[bool, Query(description="Validate only; change nothing")] = False,
    background: Annotated[
        bool | None, Query(description="Force (true) or forbid (false) background processing")
    ] = None,
) -> ImportJobOut:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="file larger than 64 MiB")
    filename = file.filename or "upload"
    try:  # read at once, so a wrong file is a 422 and not a failed job; the job parses these rows
        sheet = await asyncio.to_thread(importer.read_sheet, filename, data)
    except importer.FileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{filename}: {exc}") from None
    inline = len(data) <= INLINE_MAX_BYTES
    del data  # the rows are all the job needs; the upload's bytes may go
    job = JOBS.create(officer, filename, dry_run)
    task = JOBS.start(_run(job, sheet, services, client, officer))
    if background if background is not None else not inline:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/groups/import/{job.job_id}"
        return job
    await asyncio.shield(task)
    return job


@router.get(
    "/{job_id}",
    response_model=ImportJobOut,
    summary="An import's progress and, once done, its per-row results",
    responses=responses(*AUTHED, 404),
)
async def import_job(job_id: str, officer: CurrentOfficer) -> ImportJobOut:
    job = JOBS.get(job_id, officer)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no import job {job_id}")
    return job
