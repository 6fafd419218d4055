"""What an LPJ's lines cite, resolved before the step: each receipt and photo a file of the group, of
the right kind, and no receipt (by its content) already accounting for another group's aid. The
step's own transaction checks the last again (`lpj_receipts`), so a race between two groups cannot
pass both."""

from __future__ import annotations

from api.queries.common import Db
from api.queries.files import files_by_id
from jps.domain.files import EvidencePurpose
from jps.domain.models import SubmitLpjArgs

_IMAGES = ("image/jpeg", "image/png")


async def lpj_problems(
    db: Db, *, group_id: str, args: SubmitLpjArgs
) -> tuple[SubmitLpjArgs, list[tuple[str, str]]]:
    """The arguments with each line's receipt hash filled in, and the problems found ("field", "reason")."""
    cited = [line.file_id for line in args.lines] + [x.photo_file_id for x in args.lines if x.photo_file_id]
    files = await files_by_id(db, group_id=group_id, file_ids=cited)
    problems: list[tuple[str, str]] = []
    lines = []
    for i, line in enumerate(args.lines):
        receipt = files.get(line.file_id)
        if receipt is None:
            problems.append((f"lines[{i}].file_id", "no such file uploaded to this group"))
        elif receipt.purpose != EvidencePurpose.RECEIPT:
            problems.append(
                (f"lines[{i}].file_id", f"the file was uploaded as {receipt.purpose.value}, not a receipt")
            )
        if line.photo_file_id is not None:
            photo = files.get(line.photo_file_id)
            if photo is None:
                problems.append((f"lines[{i}].photo_file_id", "no such file uploaded to this group"))
            elif photo.content_type not in _IMAGES:
                problems.append(
                    (f"lines[{i}].photo_file_id", "a photo of the goods must be a JPEG or PNG image")
                )
        lines.append(line.model_copy(update={"receipt_sha256": receipt.sha256 if receipt else None}))
    filled = args.model_copy(update={"lines": lines})
    hashes = [line.receipt_sha256 for line in lines if line.receipt_sha256]
    if hashes and not problems:
        rows = await db.fetch(
            """SELECT receipt_sha256 FROM lpj_receipts
               WHERE receipt_sha256 = ANY($1::text[]) AND group_id <> $2""",
            hashes,
            group_id,
        )
        taken = {r["receipt_sha256"] for r in rows}
        for i, line in enumerate(lines):
            if line.receipt_sha256 in taken:
                problems.append(
                    (f"lines[{i}].file_id", "this receipt already accounts for another group's aid")
                )
    return filled, problems
