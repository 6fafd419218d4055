"""Where the payload keys come from (the codec itself is `jps.sealing`): `JPS_PAYLOAD_KEYS`, else the
file `JPS_PAYLOAD_KEY_FILE`, else, outside production, a development key generated once under the
data directory (`make run`'s `.data/payload.keys`), shared by every process of that stack."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from temporalio.converter import DataConverter

from jps.sealing import PayloadKeyError, PayloadKeys, sealed_converter
from jps.settings import PAYLOAD_KEYS, Settings

DEV_KEY_FILE = "payload.keys"


def load_payload_keys(settings: Settings) -> PayloadKeys:
    if settings.payload_keys:
        return PayloadKeys.parse(settings.payload_keys)
    if settings.payload_key_file is not None:
        try:
            return PayloadKeys.parse(settings.payload_key_file.read_text())
        except OSError as err:
            raise PayloadKeyError(f"JPS_PAYLOAD_KEY_FILE {settings.payload_key_file}: {err}") from None
    if settings.production:
        raise PayloadKeyError(f"{PAYLOAD_KEYS} (or JPS_PAYLOAD_KEY_FILE) is not set")
    return ensure_dev_keys(settings.data_dir / DEV_KEY_FILE)


def ensure_dev_keys(path: Path) -> PayloadKeys:
    """The keys in `path`, written first (mode 0600) when it does not exist. Processes that start
    together agree: the file appears whole, once (a hard link that fails if another won the race)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# development payload key (generated; never use it in production)\n")
            f.write(PayloadKeys.generate_entry("dev1") + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return PayloadKeys.parse(path.read_text())


@lru_cache(maxsize=8)
def _converter(keys: PayloadKeys) -> DataConverter:
    return sealed_converter(keys)


def data_converter(settings: Settings) -> DataConverter:
    """The sealing converter for these settings' keys (one per key set)."""
    return _converter(load_payload_keys(settings))
