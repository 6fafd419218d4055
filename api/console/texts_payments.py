"""The words of the payment steps that finance and supervisors take when the bank does not answer
plainly (closing a payment investigation, giving up a Padat Karya worker's share) and of their
timeline events, in Bahasa Indonesia and English; merged into `api.console.i18n`'s dictionary like
`texts_reconciliation`."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "action_resolve-payment": ("Tutup penelusuran pembayaran", "Close the payment investigation"),
    "action_release-share": ("Lepaskan upah pekerja", "Give up a worker's share"),
    "outcome": ("Hasil menurut bank", "Outcome, as the bank reports it"),
    "outcome_paid": ("Dibayar", "Paid"),
    "outcome_failed": ("Gagal", "Failed"),
    "resolve_payment_hint": (
        "Pilih transfer yang masih menunggu. Diterima hanya bila status dari bank sendiri sama; "
        "tulis dasar keputusan (misalnya nomor surat bank).",
        "Pick a transfer still waiting. Accepted only when the bank's own status agrees; write what "
        "the decision rests on (e.g. the bank's letter number).",
    ),
    "which_share": ("Pekerja yang upahnya dilepaskan", "Worker whose share is given up"),
    "release-share_warning": (
        "Upah pekerja ini tidak akan dibayar melalui kelompok ini (pekerja pindah, rekening tidak dapat "
        "diperbaiki); anggarannya sudah kembali. Tidak dapat diurungkan.",
        "This worker's wage will not be paid through this group (the worker left, the account cannot "
        "be fixed); its budget has gone back. This cannot be undone.",
    ),
    "event_payment_investigation_opened": ("Penelusuran pembayaran dibuka", "Payment investigation opened"),
    "event_payment_resolved": ("Penelusuran pembayaran ditutup", "Payment investigation closed"),
    "event_share_released": ("Upah pekerja dilepaskan", "Worker's share given up"),
}
