"""What a member reads about their group on the public status page (cek status bantuan): the stage and
the next step in plain words, Bahasa Indonesia first (English beside it), written for a member and not
for an officer. The JSON answer carries the Indonesian words; the page shows the chosen language."""

from __future__ import annotations

from jps.domain.stages import Stage, TaskKind

Words = tuple[str, str]  # (Bahasa Indonesia, English)

STAGE_WORDS: dict[Stage, Words] = {
    Stage.PROPOSAL: ("Proposal dikembalikan untuk diperbaiki", "Proposal sent back for corrections"),
    Stage.VERIFICATION: ("Proposal sedang diperiksa petugas", "The proposal is being checked"),
    Stage.TRAINING: ("Tahap pelatihan", "Training"),
    Stage.DISBURSEMENT: ("Tahap pembayaran bantuan", "The aid is being paid"),
    Stage.MENTORING: ("Bantuan sudah dibayar; tahap pendampingan", "Aid paid; mentoring"),
    Stage.RECOVERY: ("Pengembalian dana yang belum dipertanggungjawabkan", "Repaying aid not accounted for"),
    Stage.COMPLETED: ("Selesai", "Completed"),
    Stage.REJECTED: ("Proposal ditolak", "Proposal rejected"),
    Stage.CANCELLED: ("Dibatalkan", "Cancelled"),
}

NEXT_STEP_WORDS: dict[TaskKind, Words] = {
    TaskKind.RESUBMIT_PROPOSAL: (
        "Pendamping mengajukan ulang proposal yang sudah diperbaiki",
        "The corrected proposal is resubmitted",
    ),
    TaskKind.VERIFY: (
        "Petugas memeriksa dokumen dan lokasi kelompok",
        "An officer checks the documents and site",
    ),
    TaskKind.SCHEDULE_TRAINING: ("Petugas menjadwalkan pelatihan", "An officer schedules the training"),
    TaskKind.RECORD_ATTENDANCE: (
        "Pelatihan berlangsung; kehadiran dicatat",
        "Training; attendance is recorded",
    ),
    TaskKind.DECIDE_TRAINING: (
        "Supervisor memutuskan kelanjutan pelatihan",
        "A supervisor decides on the training",
    ),
    TaskKind.APPROVE_DISBURSEMENT: (
        "Petugas keuangan menyetujui jumlah bantuan",
        "Finance approves the amount",
    ),
    TaskKind.AUTHORIZE_DISBURSEMENT: (
        "Supervisor mengotorisasi pembayaran",
        "A supervisor authorizes the payment",
    ),
    TaskKind.AWAIT_BUDGET: ("Menunggu ketersediaan anggaran", "Waiting for the budget"),
    TaskKind.AWAIT_UNFREEZE: ("Pembayaran sedang ditahan sementara", "Payments are on hold for now"),
    TaskKind.AWAIT_BANK: (
        "Menunggu konfirmasi transfer dari bank",
        "Waiting for the bank to confirm the transfer",
    ),
    TaskKind.UPDATE_BANK_ACCOUNT: (
        "Data rekening perlu diperbaiki; hubungi pendamping atau Disnaker",
        "The bank details must be corrected: contact your mentor or Disnaker",
    ),
    TaskKind.INVESTIGATE_PAYMENT: (
        "Petugas menelusuri status transfer",
        "An officer is tracing the transfer",
    ),
    TaskKind.REPORT_VISIT: ("Kunjungan pendampingan berikutnya", "The next mentoring visit"),
    TaskKind.SUBMIT_LPJ: (
        "Kelompok menyampaikan laporan penggunaan bantuan (LPJ)",
        "The group reports how the aid was used (LPJ)",
    ),
    TaskKind.REVIEW_LPJ: (
        "Petugas memeriksa laporan penggunaan bantuan",
        "An officer reviews the use-of-funds report",
    ),
    TaskKind.RECOVER_RECEIVABLE: ("Pengembalian dana oleh kelompok", "The group repays the aid owed"),
    TaskKind.SUBMIT_MUSTER: (
        "Daftar hadir pekerja minggu ini dikirim",
        "This week's muster roll is submitted",
    ),
    TaskKind.REVIEW_MUSTER: ("Supervisor memeriksa daftar hadir", "A supervisor reviews the muster roll"),
    TaskKind.APPROVE_WAGES: (
        "Upah minggu ini disetujui petugas keuangan",
        "Finance releases this week's wages",
    ),
    TaskKind.AUTHORIZE_WAGES: (
        "Supervisor mengotorisasi upah minggu ini",
        "A supervisor authorizes this week's wages",
    ),
    TaskKind.FIX_WAGE_ACCOUNT: (
        "Rekening pekerja perlu diperbaiki; hubungi pendamping atau Disnaker",
        "A worker's account must be corrected: contact your mentor or Disnaker",
    ),
    TaskKind.REPORT_PROGRESS: ("Laporan kemajuan pekerjaan minggu ini", "This week's progress report"),
}

# When no task is open: what happens next in that stage, if anything.
STAGE_NEXT_WORDS: dict[Stage, Words] = {
    Stage.MENTORING: ("Pendampingan berlanjut", "Mentoring continues"),
    Stage.COMPLETED: ("Tidak ada langkah lagi", "Nothing more to do"),
    Stage.REJECTED: ("Tidak ada langkah lagi", "Nothing more to do"),
    Stage.CANCELLED: ("Tidak ada langkah lagi", "Nothing more to do"),
}

DEFAULT_NEXT: Words = ("Menunggu langkah petugas berikutnya", "Waiting for the next officer's step")


def stage_words(stage: str) -> Words:
    try:
        return STAGE_WORDS[Stage(stage)]
    except ValueError:
        return (stage, stage)


def next_step_words(stage: str, task_kind: str | None) -> Words:
    if task_kind:
        try:
            return NEXT_STEP_WORDS[TaskKind(task_kind)]
        except ValueError:
            pass
    try:
        return STAGE_NEXT_WORDS.get(Stage(stage), DEFAULT_NEXT)
    except ValueError:
        return DEFAULT_NEXT
