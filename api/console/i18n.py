"""The console's words, in Bahasa Indonesia (the default) and English: one dictionary for every page.

A key that is missing in a language falls back to the Indonesian text, then to the key itself, so a
page never breaks over a missing word; `tests/console` checks that both languages have every key.
Refusal messages come from the workflow and the API in English and are shown as they are, after a
translated lead-in: they are the workflow's own reason, and an auditor may quote them.
"""

# Over 400 lines on purpose: most of it is one dictionary, a line per word of the core pages in two
# languages; each later feature's words live beside it (`texts_<feature>.py`) and are merged here.

from __future__ import annotations

from typing import Literal

from markupsafe import Markup

from api.console.texts_dashboard import TEXTS as DASHBOARD_TEXTS
from api.console.texts_grievances import TEXTS as GRIEVANCE_TEXTS
from api.console.texts_lpj import TEXTS as LPJ_TEXTS
from api.console.texts_payments import TEXTS as PAYMENT_TEXTS
from api.console.texts_reconciliation import TEXTS as RECONCILIATION_TEXTS
from api.console.texts_verification import TEXTS as VERIFICATION_TEXTS
from api.console.texts_wages import TEXTS as WAGE_TEXTS

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
DEFAULT_LANG: Lang = "id"

# key: (Bahasa Indonesia, English)
_TEXTS: dict[str, tuple[str, str]] = {
    # frame
    "app_name": ("JPS Flow", "JPS Flow"),
    "app_tagline": ("Konsol petugas Jaring Pengaman Sosial", "Social Safety Net officers' console"),
    "skip_to_content": ("Langsung ke isi", "Skip to content"),
    "nav_label": ("Navigasi utama", "Main navigation"),
    "nav_inbox": ("Kotak tugas", "Inbox"),
    "nav_groups": ("Daftar kelompok", "Groups"),
    "nav_summary": ("Ringkasan", "Summary"),
    "nav_audit": ("Catatan audit", "Audit log"),
    "nav_api_docs": ("Dokumentasi API", "API docs"),
    "signed_in_as": ("Masuk sebagai", "Signed in as"),
    "sign_out": ("Keluar", "Sign out"),
    "language": ("Bahasa", "Language"),
    "lang_other": ("English", "Bahasa Indonesia"),
    "roles": ("Peran", "Roles"),
    "regions": ("Wilayah", "Regions"),
    "national": ("Nasional", "National"),
    "times_in_wib": ("Semua waktu dalam WIB.", "All times are in WIB (Jakarta time)."),
    # sign in
    "sign_in_title": ("Masuk", "Sign in"),
    "sign_in_intro": (
        "Masuk dengan nama pengguna dan kata sandi dari admin. Petugas keuangan dan supervisor juga "
        "memasukkan kode sekali pakai dari aplikasi autentikator.",
        "Sign in with the username and password your admin gave you. Finance officers and supervisors "
        "also enter the one-time code from their authenticator app.",
    ),
    "username_label": ("Nama pengguna", "Username"),
    "password_label": ("Kata sandi", "Password"),
    "otp_label": ("Kode sekali pakai (bila diminta)", "One-time code (where asked)"),
    "sign_in_with_token": ("Masuk dengan token", "Sign in with a token"),
    "sign_in_token_intro": (
        "Untuk skrip dan pengembang: tempelkan token dari {cmd}.",
        "For scripts and developers: paste a token from {cmd}.",
    ),
    "token_label": ("Token petugas (JWT)", "Officer token (JWT)"),
    "sign_in_button": ("Masuk", "Sign in"),
    "sign_in_bad_token": ("Token tidak berlaku", "The token is not valid"),
    "sign_in_empty": ("Token wajib diisi.", "Please paste a token."),
    "sign_in_failed": ("Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "sign_in_locked": (
        "Terlalu banyak percobaan gagal: akun dikunci sementara. Coba lagi nanti atau hubungi admin.",
        "Too many failed attempts: the account is locked for a while. Try later or ask your admin.",
    ),
    "sign_in_too_many": (
        "Terlalu banyak percobaan masuk. Tunggu satu menit.",
        "Too many sign-in attempts. Wait a minute.",
    ),
    "sign_in_bad_otp": (
        "Kode sekali pakai wajib diisi dan harus benar.",
        "A correct one-time code is required.",
    ),
    "enrol_title": ("Daftarkan faktor kedua", "Enrol a second factor"),
    "enrol_intro": (
        "Peran Anda memerlukan kode sekali pakai. Pindai kode QR ini dengan aplikasi autentikator, "
        "lalu masukkan kata sandi dan kode yang ditampilkan aplikasi.",
        "Your role needs a one-time code. Scan this QR code with an authenticator app, then enter your "
        "password and the code the app shows.",
    ),
    "enrol_qr_title": ("Kode QR faktor kedua", "Second-factor QR code"),
    "enrol_secret": ("Atau ketik kunci ini:", "Or type this key:"),
    "enrol_button": ("Daftarkan dan masuk", "Enrol and sign in"),
    "signed_out": ("Anda telah keluar.", "You have signed out."),
    "session_expired": (
        "Sesi Anda berakhir atau belum masuk. Silakan masuk lagi.",
        "Your session has ended or you are not signed in. Please sign in.",
    ),
    # common
    "group": ("Kelompok", "Group"),
    "group_id": ("ID kelompok", "Group ID"),
    "name": ("Nama", "Name"),
    "program": ("Program", "Programme"),
    "stage": ("Tahap", "Stage"),
    "region": ("Wilayah", "Region"),
    "members": ("Anggota", "Members"),
    "member_count": ("Jumlah anggota", "Members"),
    "task": ("Tugas", "Task"),
    "due": ("Batas waktu", "Due"),
    "escalation": ("Eskalasi", "Escalation"),
    "claimed_by": ("Ditangani oleh", "Claimed by"),
    "nobody": ("belum ada", "nobody"),
    "claim": ("Ambil tugas", "Claim"),
    "release": ("Lepaskan", "Release"),
    "overdue": ("Terlambat", "Overdue"),
    "on_time": ("Belum jatuh tempo", "Not yet due"),
    "all": ("Semua", "All"),
    "yes": ("Ya", "Yes"),
    "no": ("Tidak", "No"),
    "none": ("—", "—"),
    "search": ("Cari", "Search"),
    "filter": ("Saring", "Filter"),
    "reset": ("Atur ulang", "Reset"),
    "page_of": ("Halaman {page} dari {pages}", "Page {page} of {pages}"),
    "previous": ("Sebelumnya", "Previous"),
    "next": ("Berikutnya", "Next"),
    "results_total": ("{total} hasil", "{total} results"),
    "nothing_here": ("Tidak ada data.", "Nothing here."),
    "open": ("Buka", "Open"),
    "back": ("Kembali", "Back"),
    "notes": ("Catatan", "Notes"),
    "reason": ("Alasan", "Reason"),
    "officer": ("Petugas", "Officer"),
    "time": ("Waktu", "Time"),
    "event": ("Peristiwa", "Event"),
    "details": ("Rincian", "Details"),
    "amount": ("Jumlah", "Amount"),
    "status": ("Status", "Status"),
    "submit": ("Kirim", "Submit"),
    "leader": ("Ketua", "Leader"),
    "phone": ("Telepon", "Phone"),
    "gender": ("Jenis kelamin", "Gender"),
    "nik": ("NIK", "NIK"),
    "bank_account": ("Rekening bank", "Bank account"),
    "bank_code": ("Kode bank", "Bank code"),
    "account_no": ("Nomor rekening", "Account number"),
    "holder_name": ("Nama pemilik rekening", "Account holder"),
    # inbox
    "inbox_title": ("Kotak tugas", "Inbox"),
    "inbox_intro": (
        "Tugas terbuka untuk peran dan wilayah Anda; yang terlambat dan tereskalasi di atas.",
        "Open tasks for your roles and regions; overdue and escalated first.",
    ),
    "inbox_empty": ("Tidak ada tugas terbuka untuk Anda.", "No open tasks for you."),
    "inbox_auditor_note": (
        "Auditor tidak menerima tugas. Lihat catatan audit atau daftar kelompok.",
        "Auditors receive no tasks. See the audit log or the list of groups.",
    ),
    "only_overdue": ("Hanya yang terlambat", "Overdue only"),
    "claimed_filter": ("Penanganan", "Claimed"),
    "claimed_me": ("Oleh saya", "By me"),
    "claimed_nobody": ("Belum diambil", "By nobody"),
    "claimed_others": ("Oleh petugas lain", "By others"),
    # groups
    "groups_title": ("Daftar kelompok", "Groups"),
    "search_label": ("Nama, ID kelompok, atau NIK lengkap", "Name, group ID or a full NIK"),
    "region_label": ("Kode wilayah (2 atau 4 digit)", "Region code (2 or 4 digits)"),
    "region_invalid": (
        "Kode wilayah harus 2 digit (provinsi) atau 4 digit (kabupaten/kota).",
        "The region code must be 2 digits (province) or 4 digits (regency/city).",
    ),
    "invalid_filter": ("Saringan tidak dikenal: {field}", "Unknown filter value: {field}"),
    "requested": ("Diajukan", "Requested"),
    "approved": ("Disetujui", "Approved"),
    "paid": ("Dibayar", "Paid"),
    "submitted_at": ("Diajukan pada", "Submitted"),
    # group detail
    "group_overview": ("Ringkasan kelompok", "Overview"),
    "description": ("Uraian usaha / fasilitas", "Business plan / facility"),
    "submitted_by": ("Diajukan oleh", "Submitted by"),
    "approved_by": ("Disetujui oleh", "Approved by"),
    "authorized_by": ("Diotorisasi oleh", "Authorized by"),
    "decision_notes": ("Catatan keputusan", "Decision notes"),
    "outcome_reason": ("Alasan akhir", "Outcome reason"),
    "open_task": ("Tugas terbuka", "Open task"),
    "open_tasks": ("Tugas-tugas terbuka", "Open tasks"),
    "no_open_task": ("Tidak ada tugas terbuka.", "No open task."),
    "task_note": ("Keterangan", "Note"),
    "payments": ("Pembayaran", "Payments"),
    "no_payments": ("Belum ada pembayaran.", "No payments yet."),
    "transfer_id": ("ID transfer", "Transfer ID"),
    "beneficiary": ("Penerima", "Beneficiary"),
    "attempt": ("Percobaan", "Attempt"),
    "visits": ("Kunjungan pendampingan", "Mentoring visits"),
    "no_visits": (
        "Jadwal kunjungan dibuat setelah bantuan dibayar.",
        "Visits are scheduled once the aid is paid.",
    ),
    "visit_no": ("Kunjungan ke", "Visit no."),
    "due_on": ("Jatuh tempo", "Due on"),
    "reported_on": ("Dilaporkan", "Reported"),
    "business_status": ("Status usaha", "Business status"),
    "monthly_revenue": ("Omzet bulanan", "Monthly revenue"),
    "progress_percent": ("Kemajuan pembangunan (%)", "Construction progress (%)"),
    "handover": ("serah terima", "handover"),
    "training": ("Pelatihan", "Training"),
    "no_training": ("Belum dijadwalkan.", "Not scheduled yet."),
    "venue": ("Tempat", "Venue"),
    "starts_on": ("Mulai", "Starts"),
    "ends_on": ("Selesai", "Ends"),
    "scheduled_by": ("Dijadwalkan oleh", "Scheduled by"),
    "attended": ("Hadir", "Attended"),
    "actions": ("Tindakan", "Actions"),
    "no_actions": (
        "Tidak ada tindakan untuk peran Anda pada tahap ini.",
        "No action for your roles in this stage.",
    ),
    "history_link": ("Riwayat", "Timeline"),
    "action_done": ("Tersimpan: {action}. Tahap sekarang: {stage}.", "Done: {action}. Stage now: {stage}."),
    "refused": ("Ditolak", "Refused"),
    "refused_lead": ("Alur kerja menolak tindakan ini:", "The workflow refused this action:"),
    "invalid_lead": ("Isian belum benar:", "Please correct the form:"),
    "nik_masked_note": ("NIK ditampilkan tersamar.", "NIKs are shown masked."),
    "select_all": ("Pilih semua", "Select all"),
    "attended_members": ("Anggota yang hadir", "Members who attended"),
    "decision": ("Keputusan", "Decision"),
    "which_member": ("Rekening anggota yang ditolak bank", "Worker whose transfer the bank refused"),
    "group_account": ("Rekening kelompok", "The group's account"),
    "danger_zone": ("Pembatalan", "Cancellation"),
    "cancel_warning": (
        "Membatalkan kelompok tidak dapat diurungkan.",
        "Cancelling a group cannot be undone.",
    ),
    # action names (buttons and headings)
    "action_resubmit": ("Ajukan ulang proposal", "Resubmit the proposal"),
    "action_verify": ("Keputusan verifikasi", "Verification decision"),
    "action_schedule-training": ("Jadwalkan pelatihan", "Schedule training"),
    "action_record-attendance": ("Catat kehadiran pelatihan", "Record training attendance"),
    "action_decide-training": ("Keputusan pelatihan", "Training decision"),
    "action_approve-disbursement": ("Setujui penyaluran", "Approve disbursement"),
    "action_authorize-disbursement": ("Otorisasi penyaluran", "Authorize disbursement"),
    "action_update-bank-account": ("Perbarui rekening bank", "Update bank account"),
    "action_report-visit": ("Laporkan kunjungan", "Report a visit"),
    "action_cancel": ("Batalkan kelompok", "Cancel the group"),
    "action_claim": ("Ambil tugas", "Claim the task"),
    "approve_amount_hint": ("Paling banyak {amount}", "At most {amount}"),
    "authorize_hint": (
        "Jumlah di atas ambang maker-checker: petugas lain dari yang menyetujui harus mengotorisasi.",
        "Amount above the maker-checker threshold: an officer other than the approver must authorize.",
    ),
    # decisions and statuses
    "decision_approve": ("Setujui", "Approve"),
    "decision_reject": ("Tolak", "Reject"),
    "decision_revise": ("Kembalikan untuk revisi", "Send back for revision"),
    "decision_reschedule": ("Jadwalkan ulang", "Reschedule"),
    "decision_proceed": ("Lanjutkan ke penyaluran", "Proceed to disbursement"),
    "decision_cancel": ("Batalkan", "Cancel"),
    "business_running": ("Berjalan", "Running"),
    "business_struggling": ("Kesulitan", "Struggling"),
    "business_stopped": ("Berhenti", "Stopped"),
    "payment_pending": ("Menunggu bank", "Pending"),
    "payment_paid": ("Dibayar", "Paid"),
    "payment_failed": ("Gagal", "Failed"),
    "gender_L": ("Laki-laki", "Male"),
    "gender_P": ("Perempuan", "Female"),
    # programmes
    "program_tkm": ("Tenaga Kerja Mandiri (TKM)", "Tenaga Kerja Mandiri (TKM)"),
    "program_padat_karya": ("Padat Karya", "Padat Karya"),
    # stages
    "stage_proposal": ("Proposal (revisi)", "Proposal (revision)"),
    "stage_verification": ("Verifikasi", "Verification"),
    "stage_training": ("Pelatihan", "Training"),
    "stage_disbursement": ("Penyaluran", "Disbursement"),
    "stage_mentoring": ("Pendampingan", "Mentoring"),
    "stage_recovery": ("Pemulihan (TGR)", "Recovery"),
    "stage_completed": ("Selesai", "Completed"),
    "stage_rejected": ("Ditolak", "Rejected"),
    "stage_cancelled": ("Dibatalkan", "Cancelled"),
    # task kinds
    "task_resubmit_proposal": ("Ajukan ulang proposal", "Resubmit the proposal"),
    "task_verify": ("Verifikasi dokumen dan lapangan", "Verify documents and field"),
    "task_schedule_training": ("Jadwalkan pelatihan", "Schedule the training"),
    "task_record_attendance": ("Catat kehadiran", "Record attendance"),
    "task_decide_training": ("Putuskan kelanjutan pelatihan", "Decide on the training"),
    "task_approve_disbursement": ("Setujui jumlah bantuan", "Approve the aid amount"),
    "task_authorize_disbursement": ("Otorisasi pembayaran", "Authorize the payment"),
    "task_await_budget": ("Menunggu anggaran", "Waiting for budget"),
    "task_await_unfreeze": ("Menunggu pencairan dibuka", "Waiting for the freeze to lift"),
    "task_await_bank": ("Menunggu konfirmasi bank", "Waiting for the bank"),
    "task_update_bank_account": ("Perbaiki data rekening", "Fix the bank details"),
    "task_investigate_payment": ("Telusuri status pembayaran", "Investigate the payment"),
    "task_report_visit": ("Laporkan kunjungan pendampingan", "Report the mentoring visit"),
    "task_submit_lpj": ("Ajukan LPJ penggunaan bantuan", "Submit the use-of-funds report (LPJ)"),
    "task_review_lpj": ("Periksa LPJ", "Review the LPJ"),
    "task_recover_receivable": ("Pulihkan dana (TGR)", "Recover the aid owed back"),
    "task_submit_muster": ("Kirim daftar hadir mingguan", "Submit the week's muster roll"),
    "task_review_muster": ("Periksa pengecualian daftar hadir", "Review the muster roll's exceptions"),
    "task_approve_wages": ("Setujui upah mingguan", "Release the week's wages"),
    "task_authorize_wages": ("Otorisasi upah mingguan", "Authorize the week's wages"),
    "task_fix_wage_account": ("Perbaiki rekening pekerja", "Fix a worker's wage account"),
    "task_report_progress": ("Laporkan kemajuan mingguan", "Report the week's progress"),
    # escalation levels
    "escalation_0": ("Petugas", "Assignee"),
    "escalation_1": ("Pengingat terkirim", "Reminded"),
    "escalation_2": ("Supervisor wilayah", "Region's supervisor"),
    "escalation_3": ("Direktorat nasional", "National directorate"),
    # roles
    "role_registrar": ("Pendaftar", "Registrar"),
    "role_verifier": ("Verifikator", "Verifier"),
    "role_trainer": ("Pelatih", "Trainer"),
    "role_finance": ("Keuangan", "Finance"),
    "role_supervisor": ("Supervisor", "Supervisor"),
    "role_mentor": ("Pendamping", "Mentor"),
    "role_auditor": ("Auditor", "Auditor"),
    # timeline events (the workflow's snake_case names)
    "event_workflow_started": ("Alur kerja dimulai", "Workflow started"),
    "event_workflow_completed": ("Alur kerja selesai", "Workflow completed"),
    "event_proposal_submitted": ("Proposal diajukan", "Proposal submitted"),
    "event_proposal_resubmitted": ("Proposal diajukan ulang", "Proposal resubmitted"),
    "event_proposal_refused": ("Proposal ditolak sistem", "Proposal refused"),
    "event_verification_approved": ("Verifikasi disetujui", "Verification approved"),
    "event_verification_revise": ("Dikembalikan untuk revisi", "Sent back for revision"),
    "event_verification_rejected": ("Verifikasi ditolak", "Verification rejected"),
    "event_training_scheduled": ("Pelatihan dijadwalkan", "Training scheduled"),
    "event_training_completed": ("Pelatihan selesai", "Training completed"),
    "event_training_attendance_insufficient": ("Kehadiran kurang", "Attendance too low"),
    "event_training_attempts_exhausted": ("Batas percobaan pelatihan habis", "Training attempts exhausted"),
    "event_training_decision_reschedule": ("Diputuskan: jadwal ulang", "Decided: reschedule"),
    "event_training_decision_proceed": ("Diputuskan: lanjut", "Decided: proceed"),
    "event_training_decision_cancel": ("Diputuskan: batal", "Decided: cancel"),
    "event_disbursement_approved": ("Penyaluran disetujui", "Disbursement approved"),
    "event_disbursement_authorized": ("Penyaluran diotorisasi", "Disbursement authorized"),
    "event_disbursement_frozen": ("Penyaluran dibekukan", "Disbursement frozen"),
    "event_budget_unavailable": ("Anggaran tidak tersedia", "Budget unavailable"),
    "event_payment_instructed": ("Perintah transfer ke bank", "Payment instructed"),
    "event_payment_retry": ("Transfer diulang", "Payment retried"),
    "event_payment_failed": ("Transfer ditolak bank", "Payment refused by the bank"),
    "event_bank_account_updated": ("Rekening diperbarui", "Bank account updated"),
    "event_aid_paid": ("Bantuan dibayar", "Aid paid"),
    "event_visit_reported": ("Kunjungan dilaporkan", "Visit reported"),
    "event_cancelled": ("Dibatalkan", "Cancelled"),
    "event_task_claimed": ("Tugas diambil", "Task claimed"),
    "event_task_released": ("Tugas dilepas", "Task released"),
    "event_reminder": ("Pengingat dikirim", "Reminder sent"),
    "event_escalated_regional": ("Eskalasi ke supervisor wilayah", "Escalated to the region's supervisor"),
    "event_escalated_national": ("Eskalasi ke direktorat nasional", "Escalated to the national directorate"),
    "event_action_refused": ("Tindakan ditolak", "Action refused"),
    # timeline
    "history_title": ("Riwayat kelompok", "Group timeline"),
    "history_source_temporal": (
        "Sumber: riwayat peristiwa alur kerja Temporal.",
        "Source: the Temporal workflow's event history.",
    ),
    "history_source_audit_log": (
        "Sumber: catatan audit (riwayat Temporal sudah kedaluwarsa).",
        "Source: the audit log (the Temporal history has expired).",
    ),
    "open_in_temporal": ("Buka di Temporal UI", "Open in the Temporal UI"),
    "download_csv": ("Unduh CSV", "Download CSV"),
    "automated": ("otomatis", "automated"),
    # summary
    "summary_title": ("Ringkasan per program dan tahap", "Summary by programme and stage"),
    "as_of": ("Per tanggal (akhir hari, WIB)", "As of (end of day, WIB)"),
    "as_of_now": ("Saat ini", "Now"),
    "show": ("Tampilkan", "Show"),
    "groups": ("Kelompok", "Groups"),
    "people": ("Orang", "People"),
    "total": ("Jumlah", "Total"),
    "disbursed": ("Sudah menerima bantuan", "Aid received"),
    "scope_note": ("Wilayah yang dicakup: {regions}", "Regions covered: {regions}"),
    # audit
    "audit_title": ("Catatan audit", "Audit log"),
    "audit_intro": (
        "Catatan berantai-hash dari setiap tindakan petugas dan langkah otomatis, "
        "termasuk upaya yang ditolak.",
        "The hash-chained log of every officer action and automated step, refused attempts included.",
    ),
    "chain_check": ("Pemeriksaan rantai hash", "Hash chain check"),
    "chain_valid": ("Rantai utuh: {rows} baris diperiksa.", "Chain intact: {rows} rows checked."),
    "chain_broken": (
        "Rantai RUSAK pada baris #{id}: {problem} ({rows} baris diperiksa sebelumnya).",
        "Chain BROKEN at row #{id}: {problem} ({rows} rows checked before it).",
    ),
    "actor": ("Pelaku", "Actor"),
    "hash": ("Hash", "Hash"),
    # errors
    "error_title": ("Tidak dapat ditampilkan", "Cannot be shown"),
    "error_401": ("Belum masuk", "Not signed in"),
    "error_403": ("Akses ditolak", "Access denied"),
    "error_404": ("Tidak ditemukan", "Not found"),
    "error_409": ("Tidak dapat dilakukan pada tahap ini", "Not possible in this stage"),
    "error_422": ("Isian tidak valid", "Invalid input"),
    "error_500": ("Terjadi kesalahan", "Something went wrong"),
    "error_503": ("Layanan sedang tidak tersedia", "A service is unavailable"),
    "error_500_detail": (
        "Kesalahan sudah dicatat. Coba lagi sebentar lagi atau hubungi tim teknis.",
        "The error was logged. Try again shortly or contact the technical team.",
    ),
    "error_origin": ("Permintaan dari situs lain ditolak.", "Requests from another site are refused."),
    "back_to_inbox": ("Kembali ke kotak tugas", "Back to the inbox"),
    "admin_only_title": ("Akun ini hanya mengelola petugas", "This account manages officers only"),
    "admin_only_detail": (
        "Peran Anda hanya admin: Anda mengelola daftar petugas, tanpa akses ke kelompok, tugas, "
        "laporan atau catatan audit. Kelola petugas melalui API ({api}, lihat {docs}) atau perintah "
        "{cli}. Untuk bekerja pada kelompok, minta admin lain menambahkan peran.",
        "Your only role is admin: you manage the officer directory and see no groups, tasks, reports or "
        "audit log. Manage officers through the API ({api}, see {docs}) or the {cli} command. To work "
        "on groups, ask another admin to add a role.",
    ),
}

_TEXTS.update(RECONCILIATION_TEXTS)
_TEXTS.update(VERIFICATION_TEXTS)
_TEXTS.update(PAYMENT_TEXTS)
_TEXTS.update(LPJ_TEXTS)
_TEXTS.update(DASHBOARD_TEXTS)
_TEXTS.update(WAGE_TEXTS)
_TEXTS.update(GRIEVANCE_TEXTS)

_INDEX: dict[Lang, int] = {"id": 0, "en": 1}


def parse_lang(value: str | None) -> Lang | None:
    if value in LANGS:
        return value
    return None


class Translator:
    """`t("key", name=value)`: the text in this language, with `{name}` filled in.

    The texts are ours and count as safe HTML; the values filled in are escaped (unless they are
    `Markup` themselves), so a group's name in a sentence can never become markup."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._i = _INDEX[lang]

    def __call__(self, key: str, **values: object) -> Markup:
        pair = _TEXTS.get(key)
        text = Markup(pair[self._i] or pair[0]) if pair else Markup.escape(key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in _TEXTS

    def label(self, prefix: str, value: object) -> Markup:
        """A domain value's label (`stage_training`), or the value itself when none is defined."""
        if value is None or value == "":
            return self("none")
        raw = getattr(value, "value", value)
        key = f"{prefix}_{raw}"
        return self(key) if key in _TEXTS else Markup.escape(str(raw))


def all_keys() -> dict[str, tuple[str, str]]:
    return dict(_TEXTS)
