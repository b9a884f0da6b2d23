"""An S3-compatible server on 127.0.0.1 for the object-storage tests (moto's standalone server, real HTTP).

`s3` starts it once per session and gives each test its own empty bucket, with the standard AWS
variables pointing at it (the way a user points the toolkit at MinIO or S3). Skips without moto.
"""

import logging
import os
import uuid

import pytest

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "rootstock-test",
    "AWS_SECRET_ACCESS_KEY": "rootstock-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def s3_endpoint():
    """`http://127.0.0.1:PORT` of a moto server that lives as long as the test session."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed (dev extra)")
    pytest.importorskip("s3fs", reason="s3fs is not installed (the s3 extra)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Bucket:
    """A fresh bucket; `.url(*parts)` is `s3://<bucket>/<parts>`; `.fs` an s3fs filesystem on it; `.env`
    the environment a `curate` subprocess needs."""

    def __init__(self, endpoint: str):
        import s3fs

        self.endpoint, self.name = endpoint, f"t-{uuid.uuid4().hex[:12]}"
        self.env = {**os.environ, **S3_ENV, "AWS_ENDPOINT_URL": endpoint}
        self.fs = s3fs.S3FileSystem(
            skip_instance_cache=True,
            endpoint_url=endpoint,
            key=S3_ENV["AWS_ACCESS_KEY_ID"],
            secret=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        self.fs.mkdir(self.name)

    def url(self, *parts: str) -> str:
        return "/".join([f"s3://{self.name}", *parts])

    def key(self, *parts: str) -> str:
        return "/".join([self.name, *parts])


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A new bucket on the session's server, with AWS_ENDPOINT_URL and credentials set for this test."""
    bucket = Bucket(s3_endpoint)
    for k, v in {**S3_ENV, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return bucket
