"""The words of the public status page and the post-payment verification's report (Bahasa Indonesia,
English), merged into `api.console.i18n`'s dictionary."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "error_429": ("Terlalu banyak permintaan", "Too many requests"),
    # the group's timeline: each member's "did you receive it?" check (api/queries/verification.py)
    "event_payment_check_asked": ("Anggota ditanya: bantuan diterima?", "Member asked: aid received?"),
    "event_payment_check_reminded": ("Pengingat pertanyaan terkirim", "Question reminder sent"),
    "event_payment_check_confirmed": ("Anggota menjawab: sudah diterima", "Member answered: received"),
    "event_payment_check_denied": (
        "Anggota menjawab: belum diterima (pengaduan dibuka)",
        "Member answered: not received (grievance opened)",
    ),
    "event_payment_check_unanswered": ("Anggota tidak menjawab", "Member did not answer"),
    # the public status page (cek status bantuan)
    "nav_public_status": ("Cek status bantuan", "Check your aid status"),
    "public_status_title": ("Cek status bantuan kelompok", "Check your group's aid status"),
    "public_status_intro": (
        "Untuk anggota kelompok JPS (TKM dan Padat Karya). Masukkan ID kelompok (tertulis pada surat "
        "atau SMS dari Disnaker) dan NIK Anda sendiri. Anda akan melihat tahap kelompok, langkah "
        "berikutnya, dan pembayaran untuk Anda. Tidak perlu masuk; NIK tidak disimpan.",
        "For members of a JPS group (TKM and Padat Karya). Enter the group's ID (on the letter or SMS "
        "from Disnaker) and your own NIK. You will see the group's stage, the next step and the "
        "payments for you. No sign-in needed; the NIK is not stored.",
    ),
    "public_status_nik": ("NIK Anda (16 angka)", "Your NIK (16 digits)"),
    "public_status_button": ("Cek status", "Check status"),
    "public_status_not_found": (
        "Data tidak ditemukan. Periksa kembali ID kelompok dan NIK Anda. Jika sudah benar, hubungi "
        "pendamping atau kantor Disnaker setempat.",
        "Nothing found. Check the group ID and your NIK. If both are right, contact your mentor or the "
        "local Disnaker office.",
    ),
    "public_status_429": (
        "Terlalu banyak percobaan dari perangkat ini. Tunggu satu menit lalu coba lagi.",
        "Too many tries from this device. Wait a minute and try again.",
    ),
    "public_status_bad_group": (
        "ID kelompok hanya berisi huruf, angka dan tanda hubung (contoh: TKM-3171-AB12CD34EF).",
        "A group ID has letters, digits and dashes only (e.g. TKM-3171-AB12CD34EF).",
    ),
    "public_status_bad_nik": ("NIK harus 16 angka.", "A NIK has 16 digits."),
    "public_status_stage": ("Tahap saat ini", "Current stage"),
    "public_status_next": ("Langkah berikutnya", "Next step"),
    "public_status_due": ("Batas waktu langkah berikutnya", "Next step due"),
    "public_status_payments": ("Pembayaran untuk Anda", "Payments for you"),
    "public_status_payments_tkm": (
        "Bantuan TKM dibayarkan ke rekening kelompok.",
        "TKM aid is paid to the group's account.",
    ),
    "public_status_payments_pk": (
        "Upah Padat Karya dibayarkan ke rekening Anda sendiri, per minggu kerja.",
        "Padat Karya wages are paid to your own account, week by week.",
    ),
    "public_status_no_payments": ("Belum ada pembayaran.", "No payment yet."),
    "public_status_paid_at": ("Tanggal dibayar", "Paid on"),
    "public_status_account": ("Rekening tujuan", "To account"),
    "public_status_week": ("Minggu kerja", "Work week"),
    "public_status_sms_hint": (
        "Setelah pembayaran, sebagian penerima akan menerima SMS dari JPS Kemnaker yang menanyakan "
        "apakah bantuan sudah diterima. Balas YA atau TIDAK. Petugas tidak pernah meminta uang, PIN "
        "atau kode OTP.",
        "After a payment, some recipients get an SMS from JPS Kemnaker asking whether the aid arrived. "
        "Reply YA (yes) or TIDAK (no). Officers never ask for money, a PIN or an OTP code.",
    ),
    # the verification report (laporan verifikasi pembayaran)
    "nav_verification": ("Verifikasi pembayaran", "Payment verification"),
    "verification_title": ("Verifikasi pasca-pembayaran", "Post-payment verification"),
    "verification_intro": (
        "Setiap pagi sampel acak penerima pembayaran kemarin ditanya lewat SMS apakah uangnya sudah "
        "diterima (YA/TIDAK), per program dan kabupaten/kota. Jawaban TIDAK membuka pengaduan "
        "“bantuan belum diterima” dan menandai transfernya di daftar rekonsiliasi; yang tidak menjawab "
        "diingatkan sekali lalu dihitung tidak menjawab. Tingkat konfirmasi = YA / (YA + TIDAK), dengan "
        "selang kepercayaan 95 % (Wilson).",
        "Every morning a random sample of yesterday's payment recipients are asked by SMS whether the "
        "money arrived (YA/TIDAK), per programme and regency. A TIDAK opens a “payment not received” "
        "grievance and flags the transfer on the reconciliation list; those who do not answer are "
        "reminded once, then counted as no answer. Confirmation rate = YA / (YA + TIDAK), with its 95 % "
        "(Wilson) interval.",
    ),
    "verification_from": ("Dari tanggal bayar", "Paid from"),
    "verification_to": ("Sampai tanggal bayar", "Paid until"),
    "verification_sampled": ("Disampel", "Sampled"),
    "verification_confirmed": ("YA", "Yes"),
    "verification_denied": ("TIDAK", "No"),
    "verification_no_answer": ("Tidak menjawab", "No answer"),
    "verification_awaiting": ("Menunggu jawaban", "Awaiting"),
    "verification_rate": ("Tingkat konfirmasi", "Confirmation rate"),
    "verification_interval": ("Selang 95 %", "95 % interval"),
    "verification_totals": ("Jumlah per program", "Totals per programme"),
    "verification_empty": ("Belum ada sampel.", "No sample yet."),
    "verification_json": (
        "Data yang sama untuk aplikasi (JSON, token petugas)",
        "The same figures as JSON (officer token)",
    ),
}
