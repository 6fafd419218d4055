"""The payload codec (jps/sealing.py) and where its keys come from (infra/payload_keys.py): sealed
payloads name their key and open only with it, a new first key seals while the old ones still open,
plain payloads from before the codec pass through, and development generates one key and keeps it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from infra.payload_keys import DEV_KEY_FILE, data_converter, ensure_dev_keys, load_payload_keys
from jps.sealing import DATA_CONVERTER, ENCODING, KEY_ID_FIELD, PayloadKeyError, PayloadKeys, SealingCodec
from jps.settings import Settings

NIK = "3171014101800001"
OLD = PayloadKeys.parse(PayloadKeys.generate_entry("k1"))
NEW = PayloadKeys.parse(PayloadKeys.generate_entry("k2") + "," + OLD.format())


async def test_sealed_payloads_hide_the_value_and_name_their_key() -> None:
    converter = data_converter(Settings(JPS_PAYLOAD_KEYS=OLD.format()))
    [sealed] = await converter.encode([{"nik": NIK, "born": date(1980, 1, 1)}])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_FIELD] == b"k1"
    assert NIK.encode() not in sealed.SerializeToString() and b"1980" not in sealed.data
    assert await converter.decode([sealed]) == [{"nik": NIK, "born": "1980-01-01"}]


async def test_rotation_new_key_seals_old_payloads_still_open() -> None:
    [old_sealed] = await SealingCodec(OLD).encode([Payload(data=b"old")])
    rotated = SealingCodec(NEW)
    [new_sealed] = await rotated.encode([Payload(data=b"new")])
    assert new_sealed.metadata[KEY_ID_FIELD] == b"k2"
    assert [p.data for p in await rotated.decode([old_sealed, new_sealed])] == [b"old", b"new"]
    with pytest.raises(PayloadKeyError, match="no payload key 'k2'"):
        await SealingCodec(OLD).decode([new_sealed])


async def test_plain_payloads_from_before_the_codec_pass_through() -> None:
    [plain] = await DATA_CONVERTER.encode([{"nik": NIK}])
    assert await SealingCodec(OLD).decode([plain]) == [plain]


async def test_an_altered_payload_does_not_open() -> None:
    [sealed] = await SealingCodec(OLD).encode([Payload(data=b"x")])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError, match="does not open"):
        await SealingCodec(OLD).decode([sealed])


def test_bad_key_sets_are_refused() -> None:
    for text, reason in (("", "no payload key"), ("k1", "KID:BASE64KEY"), ("k1:!!", "not base64")):
        with pytest.raises(PayloadKeyError, match=reason):
            PayloadKeys.parse(text)
    with pytest.raises(PayloadKeyError, match="16 bytes, 32 needed"):
        PayloadKeys.parse("k1:" + "A" * 22 + "==")


def test_development_generates_one_key_under_the_data_dir_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(JPS_DATA_DIR=tmp_path, JPS_PAYLOAD_KEYS="")  # not the session's key
    with ThreadPoolExecutor(8) as pool:  # processes starting together agree on one key
        keys = list(pool.map(lambda _: load_payload_keys(settings), range(16)))
    assert len(set(keys)) == 1 and keys[0].active == "dev1"
    path = tmp_path / DEV_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_dev_keys(path) == keys[0]
    assert [p.name for p in tmp_path.iterdir()] == [DEV_KEY_FILE]


def test_production_never_generates_a_key(tmp_path: Path) -> None:
    with pytest.raises(PayloadKeyError, match="JPS_PAYLOAD_KEYS"):
        load_payload_keys(Settings(JPS_ENV="production", JPS_DATA_DIR=tmp_path, JPS_PAYLOAD_KEYS=""))
    assert not (tmp_path / DEV_KEY_FILE).exists()
    key_file = tmp_path / "keys"
    key_file.write_text("# rotated 2026-11\n" + NEW.format().replace(",", "\n") + "\n")
    production = Settings(JPS_ENV="production", JPS_PAYLOAD_KEYS="", JPS_PAYLOAD_KEY_FILE=key_file)
    assert load_payload_keys(production) == NEW
