"""Notification templates (Bahasa Indonesia) and who receives each: the group leader, officers, or both.

Officers are addressed by role and region (`supervisor@3171`, `directorate@national`); the gateway
maps those to people. The leader is addressed by phone number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    to_leader: bool
    to_roles: tuple[str, ...]
    text: str


# Why a receivable was opened, as the group's leader reads it (`recovery_opened`'s {owed_because}); the
# verifier's own words follow, except for an overdue LPJ (the system's reason, in English, is for the audit).
OWED_BECAUSE: dict[str, str] = {
    "overdue": "LPJ tidak disampaikan hingga batas waktu",
    "rejected": "LPJ ditolak",
    "short": "sisa bantuan yang tidak dipertanggungjawabkan dalam LPJ",
}

TEMPLATES: dict[str, Template] = {
    "proposal_received": Template(
        True, ("verifier",), "Proposal kelompok {name} ({group_id}) telah diterima."
    ),
    "proposal_revise": Template(
        True, ("registrar",), "Proposal {name} ({group_id}) perlu direvisi: {reason}"
    ),
    "proposal_resubmitted": Template(
        False, ("verifier",), "Proposal {name} ({group_id}) telah diajukan ulang."
    ),
    "proposal_approved": Template(
        True, ("trainer",), "Proposal {name} ({group_id}) disetujui. Pelatihan akan dijadwalkan."
    ),
    "proposal_rejected": Template(True, (), "Proposal {name} ({group_id}) ditolak: {reason}"),
    "training_scheduled": Template(True, (), "Pelatihan {name}: {starts_on} s.d. {ends_on} di {venue}."),
    "training_rescheduled": Template(
        True, ("trainer",), "Kehadiran pelatihan {name} kurang; pelatihan dijadwalkan ulang."
    ),
    "training_decision_needed": Template(
        False, ("supervisor",), "Pelatihan {name} ({group_id}) perlu keputusan supervisor."
    ),
    "disbursement_ready": Template(
        False, ("finance",), "Kelompok {name} ({group_id}) siap untuk persetujuan bantuan."
    ),
    "authorization_needed": Template(
        False, ("supervisor",), "Bantuan {name} ({group_id}) Rp {amount} perlu otorisasi."
    ),
    "budget_unavailable": Template(
        False, ("finance", "supervisor"), "Anggaran untuk {name} ({group_id}) belum tersedia: {reason}"
    ),
    "disbursement_frozen": Template(
        False, ("finance",), "Penyaluran {name} ({group_id}) ditahan (pembekuan): {reason}"
    ),
    "payment_investigation": Template(
        False,
        ("finance",),
        "Pembayaran {name} ({group_id}) perlu diperiksa: {reason}",
    ),
    "bank_account_rejected": Template(
        True,
        ("registrar", "finance"),
        "Transfer ke rekening {name} ditolak bank: {reason}. Mohon perbarui rekening.",
    ),
    "aid_paid": Template(
        True, ("mentor",), "Bantuan untuk {name} ({group_id}) sebesar Rp {amount} telah dibayarkan."
    ),
    "visit_due": Template(
        True, ("mentor",), "Kunjungan pendampingan ke-{visit_no} untuk {name} jatuh tempo {due_on}."
    ),
    "lpj_due": Template(
        True,
        ("mentor",),
        "Laporan pertanggungjawaban (LPJ) bantuan {name} ({group_id}) jatuh tempo {lpj_due_on}.",
    ),
    "lpj_submitted": Template(False, ("verifier",), "LPJ {name} ({group_id}) diajukan; mohon diperiksa."),
    "lpj_revise": Template(True, ("mentor",), "LPJ {name} ({group_id}) perlu diperbaiki: {reason}"),
    "lpj_accepted": Template(True, ("mentor",), "LPJ {name} ({group_id}) diterima."),
    "recovery_opened": Template(
        True,
        ("finance", "supervisor"),
        "Bantuan {name} ({group_id}) yang belum dipertanggungjawabkan Rp {receivable} wajib "
        "dikembalikan ({owed_because}).",
    ),
    "completed": Template(True, (), "Program kelompok {name} ({group_id}) telah selesai. Terima kasih."),
    "cancelled": Template(True, ("registrar",), "Kelompok {name} ({group_id}) dibatalkan: {reason}"),
    "reminder": Template(
        False, ("assignee",), "Pengingat: tugas {task} untuk {name} ({group_id}) jatuh tempo {due_at}."
    ),
    "escalated_regional": Template(
        False, ("supervisor",), "Eskalasi: tugas {task} untuk {name} ({group_id}) terlambat sejak {due_at}."
    ),
    "escalated_national": Template(
        False,
        ("directorate",),
        "Eskalasi nasional: tugas {task} untuk {name} ({group_id}) terlambat sejak {due_at}.",
    ),
    "daily_digest": Template(
        False, ("supervisor",), "Ringkasan harian: {count} tugas terlambat/tereskalasi di wilayah {region}."
    ),
}
