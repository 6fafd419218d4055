"""The evidence file store: bytes kept by their sha256, behind one small interface (`FileStore`).

Content-addressed: the same bytes uploaded twice are kept once, and `put` answers the same hash
both times; what a file *is* for a group (its purpose, who uploaded it, where it was taken) lives in
the `files` table, one row per upload. Two implementations, chosen by `JPS_FILE_STORE`
(`file_store(settings)`):

- `FilesystemStore` (the default): a directory, `JPS_FILES_DIR` or `JPS_DATA_DIR/files`, fanned out
  by the hash's first two pairs of hex digits (`ab/cd/abcd…`), so no directory holds millions of
  entries. A file is written to a temporary name beside its place, flushed, then renamed, so a
  reader never sees half a file and a crash leaves at most a stray temporary.
- `S3Store`: a bucket of S3-compatible object storage (MinIO in docker-compose), under the same keys,
  through boto3 in a worker thread (its client is thread-safe; the event loop never waits on a
  socket). The bucket is created on first use when it is missing.

Both check what they read back against its hash: a corrupted object is an error, never evidence.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from jps.settings import Settings

log = structlog.get_logger()

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileNotStored(LookupError):
    """No file with this hash in the store."""


class FileCorrupted(RuntimeError):
    """The stored bytes no longer hash to their name."""


class FileStoreUnavailable(RuntimeError):
    """The store could not be reached or written (a full disk, S3 down, a refused credential). The
    cause is logged and chained; the message names no host or key."""


class FileStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Keep the bytes (once, however often they are put); their sha256 in hex."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The bytes of this hash; FileNotStored when there are none."""
        ...

    async def exists(self, sha256: str) -> bool: ...


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def object_key(sha256: str) -> str:
    """Where a hash lives in a store: `ab/cd/abcd…`. ValueError for anything but 64 lowercase hex
    digits, so no caller's string can name a path or key outside the store."""
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 in lowercase hex")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _unavailable(what: str, exc: Exception) -> FileStoreUnavailable:
    log.error("file_store_failed", operation=what, error=repr(exc))
    return FileStoreUnavailable(f"the file store failed to {what} a file")


def _checked(sha256: str, data: bytes) -> bytes:
    if sha256_of(data) != sha256:
        log.error("file_corrupted", sha256=sha256)
        raise FileCorrupted(f"stored file {sha256} does not match its hash")
    return data


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / object_key(sha256)

    async def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        path = self.path_of(sha256)
        try:
            await asyncio.to_thread(self._write, path, data)
        except OSError as exc:
            raise _unavailable("put", exc) from exc
        return sha256

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # atomic; a concurrent writer of the same bytes renames the same content
        finally:
            tmp.unlink(missing_ok=True)

    async def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileNotStored(sha256) from None
        except OSError as exc:
            raise _unavailable("get", exc) from exc
        return _checked(sha256, data)

    async def exists(self, sha256: str) -> bool:
        path = self.path_of(sha256)
        return await asyncio.to_thread(path.is_file)


_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Store:
    """A bucket of S3-compatible storage. `endpoint_url` empty: AWS itself; path-style addressing,
    which MinIO and moto serve without wildcard DNS. Without an access key boto3 finds credentials
    in its usual chain."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key: str = "",
        secret_key: str = "",
    ) -> None:
        self.bucket = bucket
        self.region = region
        credentials = (
            {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key} if access_key else {}
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 4, "mode": "standard"},
            ),
            **credentials,
        )
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    def __repr__(self) -> str:  # never the credentials
        return f"S3Store(bucket={self.bucket!r})"

    def _ensure_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) not in _MISSING:
                raise
            extra = (
                {}
                if self.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
            )
            try:
                self._client.create_bucket(Bucket=self.bucket, **extra)
            except ClientError as created:  # another process made it first
                if _error_code(created) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
            log.info("file_store_bucket_created", bucket=self.bucket)

    async def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if not self._bucket_ready:
                await asyncio.to_thread(self._ensure_bucket)
                self._bucket_ready = True

    def _exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    def _put(self, key: str, data: bytes, sha256: str) -> None:
        if self._exists(key):
            return
        self._client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType="application/octet-stream",  # served by the API, never from the bucket
            Metadata={"sha256": sha256},
        )

    def _get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotStored(key.rsplit("/", 1)[-1]) from None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    async def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        key = object_key(sha256)
        try:
            await self.ensure_bucket()
            await asyncio.to_thread(self._put, key, data, sha256)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("put", exc) from exc
        return sha256

    async def get(self, sha256: str) -> bytes:
        key = object_key(sha256)
        try:
            data = await asyncio.to_thread(self._get, key)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("get", exc) from exc
        return _checked(sha256, data)

    async def exists(self, sha256: str) -> bool:
        key = object_key(sha256)
        try:
            return await asyncio.to_thread(self._exists, key)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("check", exc) from exc


def file_store(settings: Settings) -> FileStore:
    """The store `JPS_FILE_STORE` names: `filesystem` (default) or `s3`."""
    if settings.file_store == "s3":
        return S3Store(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
        )
    return FilesystemStore(settings.files_path)
