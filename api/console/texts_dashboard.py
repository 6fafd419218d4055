"""The words of the managers' dashboard (dasbor), in Bahasa Indonesia and English; merged into
`api.console.i18n`'s dictionary like `texts_payments`. The `dash_*` keys the charts use travel to
`dasbor.js` in the page's data block."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav_dashboard": ("Dasbor", "Dashboard"),
    "dash_title": ("Dasbor pimpinan", "Managers' dashboard"),
    "dash_lead": (
        "Di mana kelompok berada, di mana mereka tertahan, berapa anggaran yang tersalur, dan laporan "
        "pertanggungjawaban (LPJ) yang masih ditunggu.",
        "Where the groups are, where they stall, how much of the budget was disbursed, and which "
        "use-of-funds reports (LPJ) are still awaited.",
    ),
    "dash_heatmap_program": ("Program peta panas", "Heatmap programme"),
    "dash_both_programs": ("Kedua program", "Both programmes"),
    "dash_api_note": (
        "Angka yang sama dengan laporan JSON API: /reports/funnel, /stalls, /allocation, /lpj-status.",
        "The same figures as the JSON API's reports: /reports/funnel, /stalls, /allocation, /lpj-status.",
    ),
    "dash_chart_label": (
        "Grafik: {title}. Angkanya ada di tabel di bawahnya.",
        "Chart: {title}. The table below it gives the figures.",
    ),
    "dash_funnel_title": ("Corong kelompok per tahap", "Groups by stage (funnel)"),
    "dash_stalls_title": (
        "Di mana kelompok tertahan: provinsi × tahap",
        "Where groups stall: provinces × stages",
    ),
    "dash_stalls_note": (
        "Median hari di tahap itu (yang masih di sana dihitung sampai akhir tanggal), dan jumlah tugas "
        "yang lewat tenggat.",
        "Median days in the stage (a group still there counts until the end of the day), and the number "
        "of tasks past their due date.",
    ),
    "dash_allocation_title": ("Bantuan tersalur terhadap alokasi", "Aid disbursed against the allocation"),
    "dash_lpj_title": (
        "LPJ: tepat waktu, terlambat, dalam penagihan",
        "LPJ: on time, overdue, under recovery",
    ),
    "dash_lpj_note": (
        "Kelompok TKM yang sudah menerima bantuan, per {day}; jumlah kelompok · nilai.",
        "TKM groups paid, as of {day}; number of groups · amount.",
    ),
    "dash_now_note": ("Keadaan saat ini.", "As it stands now."),
    "dash_nothing": ("Belum ada data dalam wilayah Anda.", "No figures in your regions yet."),
    "dash_groups": ("Kelompok", "Groups"),
    "dash_median_days": ("Median hari", "Median days"),
    "dash_overdue": ("Lewat tenggat", "Overdue"),
    "dash_days_short": ("hr", "d"),
    "dash_days": ("{days} hari", "{days} days"),
    "dash_n_overdue": ("{n} lewat tenggat", "{n} overdue"),
    "dash_allocation": ("Alokasi", "Allocation"),
    "dash_spent": ("Tersalur", "Disbursed"),
    "dash_reserved": ("Dicadangkan", "Reserved"),
    "dash_available": ("Sisa", "Available"),
    "dash_spent_share": ("Terserap", "Disbursed share"),
    "dash_on_time": ("Tepat waktu", "On time"),
    "dash_lpj_overdue": ("Terlambat", "Overdue"),
    "dash_under_recovery": ("Dalam penagihan", "Under recovery"),
    "dash_accepted": ("Diterima", "Accepted"),
    "dash_settled": ("Penagihan selesai", "Recovery settled"),
    "dash_province": ("Provinsi", "Province"),
    "dash_step": ("Tahap", "Stage"),
    "dash_rupiah": ("Rupiah", "Rupiah"),
    "dash_lpj_list": (
        "Unduh daftar kelompok tanpa LPJ diterima (CSV)",
        "Download the groups without an accepted LPJ (CSV)",
    ),
    "dash_lpj_list_xlsx": ("XLSX", "XLSX"),
    # the summary's accounts of the aid paid (/ringkasan)
    "accounts_title": ("Bantuan yang dibayar dan pertanggungjawabannya", "Aid paid and what became of it"),
    "accounts_note": (
        "Dibayar = tanpa LPJ + dipertanggungjawabkan + menunggu LPJ + dalam penagihan + dikembalikan + "
        "dihapuskan. Tanpa LPJ: upah Padat Karya (dibayar atas daftar hadir yang diterima) dan kelompok TKM "
        "yang diajukan sebelum aturan LPJ.",
        "Paid = no LPJ owed + accounted for + awaiting LPJ + under recovery + recovered + written off. No "
        "LPJ owed: Padat Karya wages (paid against accepted muster rolls) and TKM groups submitted before "
        "the LPJ rule.",
    ),
    "accounts_paid": ("Dibayar", "Paid"),
    "accounts_no_lpj_owed": ("Tanpa LPJ", "No LPJ owed"),
    "accounts_accounted": ("Dipertanggungjawabkan", "Accounted for"),
    "accounts_awaiting_lpj": ("Menunggu LPJ", "Awaiting LPJ"),
    "accounts_under_recovery": ("Dalam penagihan", "Under recovery"),
    "accounts_recovered": ("Dikembalikan", "Recovered"),
    "accounts_written_off": ("Dihapuskan", "Written off"),
}
