"""The mentor's side of a Padat Karya group's work period in the console, over HTTP against the real
stack: the week's muster roll from the wages page's form (a tick and hours per worker-day, photos per
day), a refused roll naming the worker and day or the day's photos and writing no roll, the same roll
corrected and accepted; and the weekly progress report from the group page's visit form."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx

from jps.domain.calendar import local_date
from jps.domain.roles import Role
from tests.api.conftest import Stack
from tests.api.test_wages import has_task, wage_api, whttp
from tests.console.conftest import ConsoleLogin, alerts
from tests.console.wage_groups import day_place, group_at_rolls, last_week
from tests.evidence_files import jpeg, pdf

__all__ = ["wage_api", "whttp"]  # the wages tests' fixtures, used here by name


async def count(stack: Stack, table: str, gid: str) -> int:
    found: int = await stack.pool.fetchval(f"SELECT count(*) FROM {table} WHERE group_id = $1", gid)
    return found


async def test_a_refused_roll_names_the_worker_and_day_and_writes_nothing_then_the_corrected_roll_is_accepted(
    stack: Stack, whttp: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid, p = await group_at_rolls(whttp, stack, "Kelompok Jalan Desa Makmur")
    url = f"/kelompok/{gid}/upah"
    week = last_week()
    mentor = await console(Role.MENTOR)
    page = (await mentor.get(url)).text
    assert f'action="{url}/daftar-hadir" enctype="multipart/form-data"' in page
    assert f'name="week_starts_on" value="{week.isoformat()}"' in page  # the week just worked
    assert 'name="w-10-6"' in page and 'name="w-11-0"' not in page  # ten workers × seven days
    assert re.search(r'id="h-1-0"[^>]* max="10"[^>]* value="8"', page)  # the policy's HOK, its maximum
    assert all(m.nik not in page for m in p.members)  # members by their number, NIKs masked
    first = p.members[0].name
    monday = f"Sen {week:%d/%m}"

    # Hours above the policy's maximum: the workflow refuses, naming the worker, the day and the hours.
    form = {"week_starts_on": week.isoformat(), "w-1-0": "1", "h-1-0": "13", "w-2-0": "1", "h-2-0": "8"}
    photo = {"photo-0": ("senin.jpg", jpeg(17), "image/jpeg")}
    refused = await mentor.post(f"{url}/daftar-hadir", data={**form, **day_place(0)}, files=photo)
    assert refused.status_code == 422
    said = html.unescape(alerts(refused.text))
    assert "Kirim daftar hadir" in said
    assert f"1. {first} · {monday} · Jam: above the policy's maximum of 10 a day" in said, said
    assert await count(stack, "muster_rolls", gid) == 0 and await count(stack, "muster_entries", gid) == 0
    # The form comes back as posted; the photo kept on the way stays with its day.
    assert await count(stack, "files", gid) == 1
    kept = re.search(r'name="kept-0" value="(F-[A-Za-z0-9]+)"', refused.text)
    assert kept and "1 foto sudah tersimpan untuk hari ini." in refused.text
    assert 'name="w-1-0" value="1" checked' in refused.text and 'value="13"' in refused.text

    # A "photo" that is a PDF: refused before anything is kept, naming the day's photo.
    not_image = {"photo-1": ("selasa.jpg", pdf("bukan foto"), "image/jpeg")}
    refused = await mentor.post(
        f"{url}/daftar-hadir",
        data={**form, "h-1-0": "8", "kept-0": kept.group(1), "w-1-1": "1", "h-1-1": "8", **day_place(1)},
        files=not_image,
    )
    assert refused.status_code == 422
    said = html.unescape(alerts(refused.text))
    assert f"Sel {week + timedelta(days=1):%d/%m} · Foto lokasi 1: not an image (application/pdf)" in said, (
        said
    )
    assert await count(stack, "files", gid) == 1 and await count(stack, "muster_rolls", gid) == 0

    # More photos a day than the form takes: refused, naming the day, nothing kept.
    four = [("photo-0", (f"senin-{i}.jpg", jpeg(20 + i), "image/jpeg")) for i in range(4)]
    refused = await mentor.post(f"{url}/daftar-hadir", data={**form, **day_place(0)}, files=four)
    assert refused.status_code == 422
    assert f"{monday} · Foto lokasi: at most 3 new photos a day" in html.unescape(alerts(refused.text))
    assert await count(stack, "files", gid) == 1

    # A day in the future (a form of next week, posted by hand): the workflow names the entry.
    today = local_date(datetime.now(UTC))
    next_week = today + timedelta(days=7 - today.weekday())
    refused = await mentor.post(
        f"{url}/daftar-hadir", data={"week_starts_on": next_week.isoformat(), "w-1-0": "1", "h-1-0": "8"}
    )
    assert refused.status_code == 422
    said = html.unescape(alerts(refused.text))
    assert f"1. {first} · Sen {next_week:%d/%m}: a day in the future" in said, said
    assert await count(stack, "muster_rolls", gid) == 0

    # Corrected, with the kept photo: accepted on submission (every day worked has its photo).
    done = await mentor.post(f"{url}/daftar-hadir", data={**form, "h-1-0": "8", "kept-0": kept.group(1)})
    assert done.status_code == 303, html.unescape(alerts(done.text))
    assert done.headers["location"] == f"{url}?done=submit-muster"
    page = (await mentor.get(done.headers["location"])).text
    assert "Tersimpan: Kirim daftar hadir." in page and "Menunggu persetujuan upah" in page
    assert await count(stack, "muster_entries", gid) == 2 and await count(stack, "files", gid) == 1
    # The week is sent: the form offers the other weeks.
    assert f'value="{week.isoformat()}"' not in page


async def test_the_work_periods_progress_report_is_made_from_the_group_page(
    stack: Stack, whttp: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid, _ = await group_at_rolls(whttp, stack, "Kelompok Saluran Air Bersih")
    url = f"/kelompok/{gid}"
    mentor = await console(Role.MENTOR)
    page = (await mentor.get(url)).text
    assert 'id="task-report_progress"' in page
    assert f'action="{url}/aksi/report-visit"' in page and 'name="handover"' not in page
    today = local_date(datetime.now(UTC)).isoformat()
    form = {
        "visit_no": "1",
        "visited_on": today,
        "business_status": "running",
        "progress_percent": "20",
        "notes": "pondasi saluran selesai",
    }
    done = await mentor.post(f"{url}/aksi/report-visit", data=form)
    assert done.status_code == 303, html.unescape(alerts(done.text))
    group = (await whttp.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR))).json()
    first = group["visits"][0]
    assert first["reported_on"] == today and first["progress_percent"] == 20 and not first["handover"]
    assert group["stage"] == "disbursement" and await has_task(whttp, stack, gid, "report_progress")
