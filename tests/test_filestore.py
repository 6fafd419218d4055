"""The evidence file store (infra/filestore.py): the same behaviour on the filesystem and on S3, the
latter over real HTTP to moto's standalone S3-compatible server (no mock object: the same boto3
client, requests and signatures a MinIO deployment gets)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from infra.filestore import (
    FileCorrupted,
    FileNotStored,
    FileStore,
    FileStoreUnavailable,
    FilesystemStore,
    S3Store,
    file_store,
    object_key,
)
from jps.settings import Settings

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_store(endpoint: str, bucket: str) -> S3Store:
    return S3Store(
        bucket=bucket, endpoint_url=endpoint, region="us-east-1", access_key="test", secret_key="test"
    )


@pytest.fixture(params=["filesystem", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    if request.param == "filesystem":
        yield FilesystemStore(tmp_path / "files")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        s3 = s3_store(endpoint, f"jps-test-{os.urandom(4).hex()}")
        s3._client.create_bucket(Bucket=s3.bucket)
        yield s3


async def test_put_answers_the_sha256_and_get_gives_the_bytes_back(store: FileStore) -> None:
    sha = await store.put(PDF)
    assert sha == hashlib.sha256(PDF).hexdigest()
    assert await store.exists(sha)
    assert await store.get(sha) == PDF


async def test_the_same_bytes_are_kept_once(store: FileStore) -> None:
    first, second = await asyncio.gather(store.put(PDF), store.put(PDF))
    assert first == second
    assert await store.put(PDF) == first
    assert await store.get(first) == PDF


async def test_an_unknown_hash_is_not_there(store: FileStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(missing)
    with pytest.raises(FileNotStored):
        await store.get(missing)


async def test_a_hash_that_is_not_one_names_no_path(store: FileStore) -> None:
    for bad in ("../../etc/passwd", "AB" * 32, "0" * 63, ""):
        with pytest.raises(ValueError):
            await store.get(bad)
        with pytest.raises(ValueError):
            await store.exists(bad)


async def test_large_and_binary_files_round_trip(store: FileStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    sha = await store.put(data)
    assert await store.get(sha) == data


def test_the_filesystem_store_fans_out_and_leaves_no_temporaries(tmp_path: Path) -> None:
    root = tmp_path / "files"
    store = FilesystemStore(root)
    sha = asyncio.run(store.put(PDF))
    assert store.path_of(sha) == root / sha[:2] / sha[2:4] / sha
    assert object_key(sha) == f"{sha[:2]}/{sha[2:4]}/{sha}"
    assert [p.name for p in root.rglob("*") if p.is_file()] == [sha]


async def test_a_corrupted_file_is_an_error_not_evidence(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    sha = await store.put(PDF)
    store.path_of(sha).write_bytes(PDF + b"tampered")
    with pytest.raises(FileCorrupted):
        await store.get(sha)


async def test_the_s3_store_creates_its_bucket_when_missing(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, "jps-made-on-first-put")
    sha = await store.put(PDF)
    assert await store.get(sha) == PDF
    # Another store (another API process) on the same bucket sees it.
    assert await s3_store(s3_endpoint, "jps-made-on-first-put").exists(sha)


def test_settings_choose_the_store(tmp_path: Path) -> None:
    default = file_store(Settings(JPS_DATA_DIR=tmp_path))
    assert isinstance(default, FilesystemStore) and default.root == tmp_path / "files"
    s3 = file_store(
        Settings(
            JPS_FILE_STORE="s3",
            JPS_S3_ENDPOINT_URL="http://127.0.0.1:9",
            JPS_S3_BUCKET="evidence",
            JPS_S3_ACCESS_KEY="minio",
            JPS_S3_SECRET_KEY="a-secret-never-printed",
        )
    )
    assert isinstance(s3, S3Store) and s3.bucket == "evidence"
    assert "a-secret-never-printed" not in repr(s3)
    settings = Settings(JPS_S3_SECRET_KEY="a-secret-never-printed")
    assert "a-secret-never-printed" not in repr(settings) + str(settings.model_dump())


async def test_a_store_that_cannot_be_reached_or_written_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store's directory should be")
    with pytest.raises(FileStoreUnavailable):
        await FilesystemStore(blocked).put(PDF)
    unreachable = s3_store("http://127.0.0.1:9", "jps-nowhere")  # the discard port: nothing listens
    with pytest.raises(FileStoreUnavailable) as failed:
        await unreachable.put(PDF)
    assert "127.0.0.1" not in str(failed.value)
