"""The reconciliation page's words (Bahasa Indonesia, English), merged into `api.console.i18n`'s
dictionary; kept apart so that the shared dictionary stays a readable size."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav_reconciliation": ("Rekonsiliasi", "Reconciliation"),
    "reconciliation_title": ("Selisih rekonsiliasi bank", "Bank reconciliation mismatches"),
    "reconciliation_intro": (
        "Perbedaan antara catatan pembayaran kami dan rekening koran bank yang ditemukan rekonsiliasi "
        "harian. Setiap selisih tetap terbuka sampai petugas keuangan di wilayah kelompok "
        "menyelesaikannya dengan alasan; penyelesaian dicatat di catatan audit.",
        "Differences between our payment records and the bank's statement found by the daily "
        "reconciliation. Each stays open until a finance officer of the group's region resolves it "
        "with a reason; the resolution is written to the audit log.",
    ),
    "reconciliation_empty_open": ("Tidak ada selisih terbuka.", "No open mismatch."),
    "mismatch": ("Selisih", "Mismatch"),
    "mismatch_kind": ("Jenis selisih", "Kind"),
    "mismatch_status": ("Status", "Status"),
    "mismatch_status_open": ("Terbuka", "Open"),
    "mismatch_status_resolved": ("Selesai", "Resolved"),
    "kind_paid_not_recorded": ("Dibayar bank, tidak tercatat", "Paid by the bank, not recorded"),
    "kind_recorded_not_paid": ("Tercatat dibayar, tidak di bank", "Recorded paid, not at the bank"),
    "kind_amount_differs": ("Jumlah berbeda", "Amounts differ"),
    "kind_member_denied": (
        "Penerima menyatakan belum menerima (verifikasi)",
        "The beneficiary says it did not arrive (verification)",
    ),
    "ours_side": ("Catatan kami", "Our record"),
    "bank_side": ("Kata bank", "The bank's word"),
    "instructed_at": ("Diperintahkan ke bank", "Instructed"),
    "found_at": ("Ditemukan", "Found"),
    "last_seen_at": ("Terakhir terlihat", "Last seen"),
    "no_group": ("tanpa kelompok", "no group"),
    "resolution": ("Penyelesaian", "Resolution"),
    "resolution_explained": ("Dijelaskan, tidak ada uang yang salah", "Explained, no money moved wrongly"),
    "resolution_ledger_corrected": ("Catatan kami diperbaiki", "Our records corrected"),
    "resolution_bank_corrected": ("Catatan bank diperbaiki", "The bank's records corrected"),
    "resolution_recovered": ("Dana dikembalikan", "Money recovered"),
    "resolution_written_off": ("Selisih diterima (dihapus)", "Difference accepted (written off)"),
    "resolve": ("Selesaikan", "Resolve"),
    "resolve_reason_hint": (
        "Wajib: apa yang diperiksa dan dasar keputusan (misalnya nomor surat bank).",
        "Required: what was checked and on what grounds (e.g. the bank's letter number).",
    ),
    "resolved_by": ("Diselesaikan oleh", "Resolved by"),
    "mismatch_resolved_done": ("Selisih #{id} diselesaikan.", "Mismatch #{id} resolved."),
    "reconciliation_read_only": (
        "Hanya petugas keuangan yang dapat menyelesaikan selisih; Anda dapat membacanya.",
        "Only finance officers resolve mismatches; you may read them.",
    ),
    "event_reconciliation_mismatch_resolved": ("Selisih rekonsiliasi diselesaikan", "Mismatch resolved"),
    "event_repaired_after_failed_workflow": (
        "Diperbaiki setelah alur kerja gagal",
        "Repaired after a failed workflow",
    ),
}
