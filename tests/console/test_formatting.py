"""Money, dates and words as the console writes them (no stack needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api.console import formatting as fmt
from api.console.i18n import Translator, all_keys, parse_lang
from api.console.render import readable, url_with
from jps.domain.stages import Stage, TaskKind


def test_rupiah_and_counts_use_dots_between_thousands() -> None:
    assert fmt.rupiah(10_000_000) == "Rp 10.000.000"
    assert fmt.rupiah(19_850_000_000) == "Rp 19.850.000.000"
    assert fmt.rupiah(0) == "Rp 0"
    assert fmt.rupiah(-2_500) == "-Rp 2.500"
    assert fmt.rupiah(None) == "—"
    assert fmt.number(39_700) == "39.700"


def test_dates_are_dd_mm_yyyy_in_wib() -> None:
    # 18:30 UTC on 1 October is already 2 October in Jakarta
    late = datetime(2020, 10, 1, 18, 30, tzinfo=UTC)
    assert fmt.day(late) == "02/10/2020"
    assert fmt.moment(late) == "02/10/2020 01:30 WIB"
    assert fmt.moment("2020-10-01T18:30:00+00:00") == "02/10/2020 01:30 WIB"
    assert fmt.day(date(2020, 8, 10)) == "10/08/2020" == fmt.day("2020-08-10")
    assert fmt.iso_day(late) == "2020-10-02"
    assert fmt.day(None) == fmt.moment(None) == "—"


def test_both_languages_have_every_word_and_labels_fall_back() -> None:
    for key, (indonesian, english) in all_keys().items():
        assert indonesian and english, key
    t_id, t_en = Translator("id"), Translator("en")
    for stage in Stage:
        assert t_id.has(f"stage_{stage.value}")
    for kind in TaskKind:
        assert t_en.has(f"task_{kind.value}")
    assert (
        t_id.label("stage", Stage.TRAINING) == "Pelatihan" and t_en.label("stage", "training") == "Training"
    )
    assert t_id.label("event", "something_new") == "something_new"
    assert t_en("page_of", page=2, pages=5) == "Page 2 of 5"
    assert parse_lang("en") == "en" and parse_lang("fr") is None


def test_refusal_details_read_as_sentences_and_never_show_a_nik() -> None:
    t = Translator("id")
    assert readable("stage is training; verify is allowed in verification only", t) == [
        "stage is training; verify is allowed in verification only"
    ]
    lines = readable(
        [
            {"loc": ["body", "amount"], "msg": "above the ceiling"},
            {"loc": ["body", "attended_niks", 0], "msg": "3171014507900001 is not a member"},
        ],
        t,
    )
    assert lines == ["Jumlah: above the ceiling", "attended_niks.0: 3171********0001 is not a member"]


def test_links_keep_filters_and_drop_the_language_switch() -> None:
    from starlette.requests import Request

    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/kelompok",
            "query_string": b"stage=training&lang=en&page=2",
            "headers": [],
        }
    )
    assert url_with(request, page=3) == "/kelompok?stage=training&page=3"
    assert url_with(request, stage=None, page=None) == "/kelompok"
