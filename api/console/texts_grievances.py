"""The grievance pages' words (Bahasa Indonesia, English), merged into `api.console.i18n`'s dictionary."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav_grievances": ("Pengaduan", "Grievances"),
    "nav_grievance_form": ("Ajukan pengaduan", "File a grievance"),
    "grievances_title": ("Pengaduan", "Grievances"),
    "grievances_intro": (
        "Pengaduan anggota di wilayah Anda. Yang menunggu peran Anda ada di atas, terlambat dan "
        "tereskalasi lebih dulu.",
        "Members' grievances in your regions. Those waiting on your roles come first, overdue and "
        "escalated first.",
    ),
    "grievances_mine": ("Hanya yang menunggu saya", "Only those waiting on me"),
    "grievances_empty": ("Tidak ada pengaduan.", "No grievance."),
    "grievance_inbox_title": ("Pengaduan yang menunggu Anda", "Grievances waiting on you"),
    "grievance": ("Pengaduan", "Grievance"),
    "grievance_id": ("Nomor pengaduan", "Grievance number"),
    "grievance_category": ("Kategori", "Category"),
    "grievance_status": ("Status", "Status"),
    "grievance_channel": ("Saluran", "Channel"),
    "grievance_text": ("Isi pengaduan", "Complaint"),
    "grievance_filed_at": ("Diajukan", "Filed"),
    "grievance_handler": ("Ditangani oleh", "Handled by"),
    "grievance_complainant": ("Pengadu", "Complainant"),
    "grievance_group": ("Kelompok", "Group"),
    "grievance_group_unknown": ("tidak dikenal", "unknown"),
    "grievance_member_in_group": ("anggota kelompok ini", "a member of this group"),
    "grievance_member_not_in_group": ("bukan anggota kelompok ini", "not a member of this group"),
    "grievance_about_officer": ("Petugas yang diadukan", "Officer complained about"),
    "grievance_filed_by": ("Dicatat oleh petugas", "Recorded by officer"),
    "grievance_resolve_due": ("Batas keputusan", "Decision due"),
    "grievance_answer_due": ("Batas jawaban pengadu", "Complainant's answer due"),
    "grievance_decision": ("Keputusan", "Decision"),
    "grievance_reason": ("Alasan", "Reason"),
    "grievance_bank": ("Status transfer menurut bank", "The bank's status of the transfer"),
    "grievance_bank_ours": ("Catatan kami", "Our record"),
    "grievance_bank_theirs": ("Menurut bank", "According to the bank"),
    "grievance_bank_unknown": ("bank tidak mengenal transfer ini", "the bank does not know this transfer"),
    "grievance_bank_none": (
        "Tidak ada transfer yang ditemukan untuk anggota ini.",
        "No transfer found for this member.",
    ),
    "grievance_steps": ("Langkah", "Steps"),
    "grievance_actions": ("Tindakan", "Actions"),
    "grievance_note": ("Catatan", "Note"),
    "grievance_question": (
        "Pertanyaan untuk pengadu (dikirim lewat SMS)",
        "Question for the complainant (sent by SMS)",
    ),
    "grievance_done": ("Tersimpan.", "Saved."),
    "gaction_acknowledge": ("Terima pengaduan", "Acknowledge"),
    "gaction_request-info": ("Minta keterangan", "Request information"),
    "gaction_resolve": ("Putuskan", "Decide"),
    "gaction_reopen": ("Buka kembali", "Reopen"),
    "gcat_payment_not_received": ("Bantuan belum diterima", "Payment not received"),
    "gcat_wrong_amount": ("Jumlah tidak sesuai", "Wrong amount"),
    "gcat_excluded": ("Tidak terpilih / dikeluarkan", "Not selected / excluded"),
    "gcat_misconduct": ("Penyimpangan / pungutan liar", "Misconduct / illegal levy"),
    "gcat_other": ("Lainnya", "Other"),
    "gstatus_filed": ("Baru", "Filed"),
    "gstatus_acknowledged": ("Ditangani", "Acknowledged"),
    "gstatus_info_requested": ("Menunggu keterangan", "Waiting for information"),
    "gstatus_resolved": ("Diputuskan", "Decided"),
    "gstatus_archived": ("Ditutup", "Closed"),
    "gdecision_upheld": ("Dikabulkan", "Upheld"),
    "gdecision_rejected": ("Ditolak", "Rejected"),
    "gdecision_referred": ("Dirujuk", "Referred"),
    "gtask_grievance_acknowledge": ("Terima pengaduan", "Acknowledge the grievance"),
    "gtask_grievance_resolve": ("Putuskan pengaduan", "Decide the grievance"),
    "gchannel_web": ("Situs", "Web"),
    "gchannel_sms": ("SMS", "SMS"),
    "gchannel_walk_in": ("Datang langsung", "Walk-in"),
    "gchannel_verification": ("Verifikasi pembayaran", "Payment verification"),
    "gevent_filed": ("Diajukan", "Filed"),
    "gevent_acknowledged": ("Diterima petugas", "Acknowledged"),
    "gevent_info_requested": ("Keterangan diminta", "Information requested"),
    "gevent_info_provided": ("Keterangan diberikan", "Information given"),
    "gevent_no_answer": ("Pengadu tidak menjawab", "No answer from the complainant"),
    "gevent_resolved": ("Diputuskan", "Decided"),
    "gevent_reopened": ("Dibuka kembali oleh supervisor", "Reopened by a supervisor"),
    "gevent_reopened_by_complainant": ("Dibuka kembali oleh pengadu", "Reopened by the complainant"),
    "gevent_reminder": ("Pengingat: lewat batas waktu", "Reminder: past due"),
    "gevent_escalated_regional": ("Eskalasi ke supervisor wilayah", "Escalated to the region's supervisor"),
    "gevent_escalated_national": ("Eskalasi ke direktorat nasional", "Escalated to the national directorate"),
    "gevent_archived": ("Ditutup", "Closed"),
    # the public form
    "public_grievance_title": ("Ajukan pengaduan", "File a grievance"),
    "public_grievance_intro": (
        "Untuk anggota kelompok JPS: bantuan belum diterima, jumlah tidak sesuai, tidak terpilih, "
        "pungutan liar atau hal lain. Anda akan menerima nomor pengaduan dan kabar lewat SMS. "
        "Lewat SMS: {format}.",
        "For members of JPS groups: aid not received, a wrong amount, not selected, illegal levies or "
        "anything else. You get a grievance number and news by SMS. By SMS: {format}.",
    ),
    "public_grievance_nik": ("NIK Anda (16 angka)", "Your NIK (16 digits)"),
    "public_grievance_phone": ("Nomor HP (+62…)", "Mobile number (+62…)"),
    "public_grievance_group": ("ID kelompok (bila ada)", "Group id (if any)"),
    "public_grievance_about": ("Petugas yang diadukan (bila ada)", "The officer complained about (if any)"),
    "public_grievance_button": ("Kirim pengaduan", "Send the grievance"),
    "public_grievance_sent": (
        "Pengaduan Anda diterima dengan nomor {id}. Kami tanggapi paling lambat {due}. Simpan nomor ini.",
        "Your grievance is received as number {id}. We answer by {due} at the latest. Keep this number.",
    ),
    "public_grievance_follow_title": ("Jawab atau buka kembali", "Answer or reopen"),
    "public_grievance_follow_intro": (
        "Menjawab permintaan keterangan, atau tidak setuju dengan keputusan (sampai 14 hari)? Masukkan "
        "nomor pengaduan dan NIK Anda.",
        "Answering a request for information, or disagreeing with a decision (within 14 days)? Enter the "
        "grievance number and your NIK.",
    ),
    "public_grievance_follow_kind": ("Saya ingin", "I want to"),
    "public_grievance_follow_info": ("memberi keterangan", "give information"),
    "public_grievance_follow_reopen": ("membuka kembali pengaduan", "reopen the grievance"),
    "public_grievance_follow_text": ("Keterangan Anda", "Your words"),
    "public_grievance_follow_button": ("Kirim", "Send"),
    "public_grievance_follow_sent": ("Terima kasih, sudah kami terima.", "Thank you, received."),
    "public_grievance_not_found": (
        "Nomor pengaduan dan NIK tidak cocok.",
        "The grievance number and the NIK do not match.",
    ),
    "public_grievance_429": (
        "Terlalu banyak permintaan. Tunggu satu menit.",
        "Too many requests. Wait a minute.",
    ),
}

# A group's timeline names its grievances' steps `grievance_<step>` (api/timeline.py): the same words,
# prefixed with the word for a grievance.
TEXTS.update(
    {
        f"event_grievance_{key.removeprefix('gevent_')}": (f"Pengaduan: {ind}", f"Grievance: {eng}")
        for key, (ind, eng) in list(TEXTS.items())
        if key.startswith("gevent_")
    }
)
