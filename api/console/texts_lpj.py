"""The words of a group's LPJ (laporan pertanggungjawaban, the use-of-funds report), its evidence files
and its recovery (tuntutan ganti rugi), in Bahasa Indonesia and English; merged into
`api.console.i18n`'s dictionary like `texts_payments`. The stage and task labels are in the shared
dictionary's own tables."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "actions_below": (
        "Tindakan Anda ada di bagian LPJ atau pemulihan dana di bawah.",
        "Your actions are in the LPJ or recovery section below.",
    ),
    # the LPJ section
    "lpj_title": ("Laporan pertanggungjawaban (LPJ)", "Use-of-funds report (LPJ)"),
    "lpj_status": ("Status LPJ", "LPJ status"),
    "lpj_status_due": ("Belum diajukan", "Not submitted yet"),
    "lpj_status_under_review": ("Sedang diperiksa", "Under review"),
    "lpj_status_revise": ("Perlu revisi", "To be revised"),
    "lpj_status_accepted": ("Diterima", "Accepted"),
    "lpj_status_rejected": ("Ditolak", "Rejected"),
    "lpj_status_overdue": ("Lewat batas waktu", "Overdue"),
    "lpj_due_on": ("Batas waktu LPJ", "LPJ due on"),
    "lpj_paid": ("Bantuan yang dipertanggungjawabkan", "Aid to account for"),
    "lpj_paid_on": ("Dibayar pada", "Paid on"),
    "lpj_submitted_total": ("Total pengajuan terakhir", "Last submission's total"),
    "lpj_accounted": ("Diterima sebagai pertanggungjawaban", "Accounted for (accepted)"),
    "lpj_submissions": ("Pengajuan LPJ", "LPJ submissions"),
    "lpj_no_submission": ("Belum ada LPJ yang diajukan.", "No LPJ submitted yet."),
    "lpj_version": ("Versi {n}", "Version {n}"),
    "lpj_pending": ("Menunggu pemeriksaan", "Awaiting review"),
    "reviewed_by": ("Diperiksa oleh", "Reviewed by"),
    "lpj_row": ("Baris {n}", "Line {n}"),
    "lines": ("Baris belanja", "Spending lines"),
    "lpj_more_rows": ("Baris {first}–{last}", "Lines {first}–{last}"),
    "category": ("Kategori", "Category"),
    "category_capital_goods": ("Barang modal", "Capital goods"),
    "category_working_capital": ("Modal kerja", "Working capital"),
    "spent_on": ("Tanggal belanja", "Date spent"),
    "supplier": ("Pemasok / toko", "Supplier"),
    "file_id": ("Kwitansi", "Receipt"),
    "photo_file_id": ("Foto barang", "Photo of the goods"),
    "file": ("Berkas", "File"),
    "receipt_choose": ("Kwitansi yang sudah diunggah", "A receipt already uploaded"),
    "receipt_upload": ("atau unggah kwitansi", "or upload a receipt"),
    "photo_choose": ("Foto barang yang sudah diunggah", "A photo already uploaded"),
    "photo_upload": ("atau unggah foto (pilihan)", "or upload a photo (optional)"),
    "choose_none": ("— tidak ada —", "— none —"),
    "lpj_form_hint": (
        "Satu baris per kwitansi, paling banyak {rows} baris; baris kosong diabaikan. Kwitansi: PDF, "
        "JPEG atau PNG, paling besar {size} MB. Barang modal paling sedikit {capital}% dan modal kerja "
        "paling banyak {working}% dari total; jumlah semua baris tidak melebihi {paid}; tanggal antara "
        "pembayaran ({paid_on}) dan hari ini. Satu kwitansi hanya untuk satu baris.",
        "One line per receipt, at most {rows} lines; empty lines are ignored. Receipts: PDF, JPEG or "
        "PNG, at most {size} MB. Capital goods at least {capital}% and working capital at most "
        "{working}% of the total; all lines together no more than {paid}; dates between the payment "
        "({paid_on}) and today. A receipt serves one line only.",
    ),
    "lpj_revise_note": ("Catatan pemeriksa untuk revisi:", "The reviewer's notes for the revision:"),
    "lpj_review_notes": ("Catatan pemeriksa", "Reviewer's notes"),
    "lpj_review_hint": (
        "Periksa setiap kwitansi di atas. Petugas yang mengajukan LPJ tidak dapat memeriksanya. "
        "Kembalikan atau tolak dengan catatan.",
        "Check each receipt above. The officer who submitted the LPJ cannot review it. Send back or "
        "reject with notes.",
    ),
    "decision_accept": ("Terima", "Accept"),
    "action_submit-lpj": ("Ajukan LPJ", "Submit the LPJ"),
    "action_review-lpj": ("Periksa LPJ", "Review the LPJ"),
    # evidence files
    "evidence_files": ("Berkas bukti", "Evidence files"),
    "purpose": ("Keperluan", "Purpose"),
    "purpose_receipt": ("Kwitansi", "Receipt"),
    "purpose_goods_photo": ("Foto barang", "Photo of the goods"),
    "purpose_worksite_photo": ("Foto lokasi kerja", "Worksite photo"),
    "uploaded": ("Diunggah", "Uploaded"),
    "download": ("Unduh", "Download"),
    # recovery
    "recovery_title": ("Pemulihan dana (tuntutan ganti rugi)", "Recovery (aid owed back)"),
    "receivable_amount": ("Piutang", "Receivable"),
    "recovered": ("Sudah dikembalikan", "Recovered"),
    "written_off": ("Dihapuskan", "Written off"),
    "outstanding": ("Sisa yang harus dikembalikan", "Outstanding"),
    "receivable_reason": ("Sebab", "Cause"),
    "receivable_reason_overdue": (
        "LPJ tidak masuk hingga eskalasi terakhir",
        "No LPJ by its last escalation",
    ),
    "receivable_reason_rejected": ("LPJ ditolak", "LPJ rejected"),
    "receivable_reason_short": (
        "LPJ mempertanggungjawabkan kurang dari bantuan",
        "The LPJ accounts for less than was paid",
    ),
    "opened_at": ("Dibuka", "Opened"),
    "settled_at": ("Selesai", "Settled"),
    "movements": ("Mutasi piutang", "Movements"),
    "movement_opened": ("Piutang dibuka", "Receivable opened"),
    "movement_repayment": ("Angsuran", "Repayment"),
    "movement_write_off": ("Penghapusan", "Write-off"),
    "paid_on": ("Tanggal setor", "Paid on"),
    "reference": ("Referensi setoran (mis. NTPN)", "Deposit reference (e.g. NTPN)"),
    "repayment_hint": ("Paling banyak sisa piutang: {amount}", "At most what is outstanding: {amount}"),
    "action_record-repayment": ("Catat angsuran pengembalian", "Record a repayment"),
    "action_write-off-receivable": ("Hapuskan piutang", "Write off the receivable"),
    "write-off-receivable_warning": (
        "Jumlah yang dihapuskan tidak lagi ditagih. Tidak dapat diurungkan.",
        "The amount written off is no longer claimed. This cannot be undone.",
    ),
    # timeline events
    "event_lpj_submitted": ("LPJ diajukan", "LPJ submitted"),
    "event_lpj_revision_requested": ("LPJ dikembalikan untuk revisi", "LPJ sent back for revision"),
    "event_lpj_accepted": ("LPJ diterima", "LPJ accepted"),
    "event_lpj_rejected": ("LPJ ditolak", "LPJ rejected"),
    "event_lpj_overdue": ("LPJ lewat batas waktu", "LPJ overdue"),
    "event_repayment_recorded": ("Angsuran pengembalian dicatat", "Repayment recorded"),
    "event_receivable_written_off": ("Piutang dihapuskan", "Receivable written off"),
    "event_file_uploaded": ("Berkas bukti diunggah", "Evidence file uploaded"),
}
