"""MinHash cluster stage on a shared Redis index (`storage: {type: redis, ...}`), kept for existing setups.

Every task inserts its share of the signature files into one datasketch `MinHashLSH` with Redis
storage (`MinhashRedisInsertStage`); the single cluster stage (`minhash/cluster.py`) then reads the
buckets back. Members are stored as plain 8-byte document numbers (`node_key`) and parsed back with
`node_of`, never unpickled. The password comes from an environment variable named by `password_env`,
read by each process when it connects (on a cluster: where the tasks run); a password written in the
url is refused, because the url travels in the pickled pipeline (`logs/<stage>/executor.pik` on Slurm).
`check_connection` makes a run with a wrong password or an unreachable server fail at once, in one
line naming the url (the password masked).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import numpy as np
from datasketch import LeanMinHash, MinHashLSH
from datatrove.pipeline.base import PipelineStep
from pydantic import ConfigDict, Field, field_serializer, model_validator

from curation.registry import OpParams
from curation.steps.minhash.files import signature_files, signatures_digest
from curation.steps.minhash.plan import FETCH_BATCH, lsh_bands


class RedisParams(OpParams):
    """Where the shared LSH index lives (datasketch's Redis storage, keys stored as plain 8-byte ints).

    The password comes from the environment variable named by `password_env`, read where each task
    connects (so it appears in no file of the run); `url` (`redis://[user@]host:6379/0`, `rediss://`
    for TLS) must not hold one. Anything that shows the url masks a password anyway.
    """

    model_config = ConfigDict(**OpParams.model_config, hide_input_in_errors=True)  # errors never echo the url

    type: Literal["redis"] = "redis"
    url: str | None = Field(
        None, repr=False, description="redis://[user:password@]host[:port][/db] or rediss://"
    )
    host: str = Field("127.0.0.1", description="Redis host (when no url)")
    port: int = Field(6379, description="Redis port (when no url)")
    db: int = Field(0, description="Redis database number (when no url)")
    password_env: str | None = Field(None, description="environment variable holding the Redis password")
    ssl: bool = Field(False, description="TLS (rediss:// sets it)")
    keep_index: bool = Field(False, description="keep the index keys after clustering (else deleted)")

    @model_validator(mode="after")
    def _check_url(self):
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("redis", "rediss") or not parts.hostname:
                raise ValueError(
                    f"url must be redis://host[:port][/db] or rediss://..., got {mask_url(self.url)}"
                )
            try:
                _ = parts.port, int(parts.path.strip("/") or 0)
            except ValueError:
                raise ValueError(f"bad port or db number in {mask_url(self.url)}") from None
            if parts.password is not None:
                raise ValueError(
                    f"{mask_url(self.url)} holds a password, which would be written into the run folder "
                    "(the pickled pipeline); put it in an environment variable and name that in password_env"
                )
        return self

    @field_serializer("url")
    def _masked(self, url: str | None) -> str | None:
        return mask_url(url) if url else url

    def client_kwargs(self) -> dict:
        """Keyword arguments of `redis.Redis` (the password resolved here, in the process that connects)."""
        kw: dict = {"host": self.host, "port": self.port, "db": self.db, "ssl": self.ssl}
        if self.url:
            parts = urlsplit(self.url)
            kw.update(host=parts.hostname, port=parts.port or 6379, db=int(parts.path.strip("/") or 0))
            kw["ssl"] = self.ssl or parts.scheme == "rediss"
            if parts.username:
                kw["username"] = unquote(parts.username)
            if parts.password:
                kw["password"] = unquote(parts.password)
        if self.password_env:
            if self.password_env not in os.environ:
                raise RuntimeError(f"minhash storage: environment variable {self.password_env} is not set")
            kw["password"] = os.environ[self.password_env]
        return kw


    def display_url(self) -> str:
        """Where the index lives, for messages: the url (password masked) or redis://host:port/db."""
        return mask_url(self.url) if self.url else f"redis://{self.host}:{self.port}/{self.db}"

    def check_connection(self, timeout: float = 10) -> None:
        """Connect and authenticate once, before a run starts.

        Raises:
            curation.errors.ServiceError: one line naming the url (password masked) and the reason:
                the password variable is not set, the password is wrong, or the server is unreachable.
        """
        import redis

        from curation.errors import ServiceError

        where = f"minhash storage: Redis at {self.display_url()}"
        try:
            kw = self.client_kwargs()
        except RuntimeError as e:
            raise ServiceError(f"{where}: {e} (it must be set here and wherever the tasks run)") from None
        try:
            redis.Redis(**kw, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
        except redis.AuthenticationError:
            raise ServiceError(f"{where}: authentication failed (wrong password or user)") from None
        except redis.ResponseError as e:  # NOAUTH: a server with a password, none given
            raise ServiceError(f"{where}: {str(e).splitlines()[0][:200]}") from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            raise ServiceError(f"{where}: unreachable ({type(e).__name__})") from None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def node_key(i: int) -> bytes:
    """An LSH member: the document's global index as 8 bytes (nothing that needs unpickling)."""
    return i.to_bytes(8, "big")


def node_of(member: bytes, docs: int) -> int | None:
    """The index stored by `node_key`, or None for anything else (a planted or foreign value)."""
    if not isinstance(member, bytes) or len(member) != 8:
        return None
    i = int.from_bytes(member, "big")
    return i if i < docs else None


def redis_basename(work_dir: Path, digest: str, bands: int, rows: int) -> bytes:
    """Index name per run and signature set: a resumed run reuses it, a re-signed run gets a fresh one."""
    key = f"{Path(work_dir).resolve()}|{digest}|{bands}x{rows}".encode()
    return b"rootstock_minhash_" + hashlib.sha1(key).hexdigest()[:16].encode()


def make_lsh(params, bands: int, rows: int, basename: bytes | None = None) -> MinHashLSH:
    if params.storage is None:
        return params.lsh_index(bands, rows)
    storage = {"type": "redis", "basename": basename, "redis": params.storage.client_kwargs()}
    return params.lsh_index(bands, rows, storage)


def lean(seed: int, hashvalues: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=seed, hashvalues=hashvalues, scheme="affine32")


class MinhashRedisInsertStage(PipelineStep):
    """Stage run by every task (Redis storage only): insert its signature file into the shared index."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash LSH insert (redis)"

    def __init__(self, params, work_dir: str | Path, expected_tasks: int):
        super().__init__()
        self.params, self.work_dir, self.expected_tasks = params, str(work_dir), expected_tasks

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        files = signature_files(Path(self.work_dir) / "signatures", self.expected_tasks)
        digest = signatures_digest(files)
        metas = [m for _, m in files]
        files = [f for f, _ in files]
        bands, rows = lsh_bands(self.params)
        lsh = make_lsh(self.params, bands, rows, redis_basename(Path(self.work_dir), digest, bands, rows))
        offsets = np.cumsum([0] + [m["docs"] for m in metas])
        with lsh.insertion_session(buffer_size=FETCH_BATCH) as session:
            for i in range(rank, len(files), world_size):  # this task's share of the files
                with np.load(files[i]) as z:
                    sigs = z["sigs"]
                for j in range(len(sigs)):
                    # no duplicate check: re-inserting after a crash only re-adds to the same buckets
                    session.insert(
                        node_key(int(offsets[i] + j)),
                        lean(self.params.seed, sigs[j]),
                        check_duplication=False,
                    )
                    self.stat_update("inserted")


def _drop_index(storage: RedisParams, basename: bytes) -> None:
    """Delete this run's index keys (every key of the index starts with its basename)."""
    import redis

    client = redis.Redis(**storage.client_kwargs())
    batch = []
    for key in client.scan_iter(match=basename + b"*", count=10000):
        batch.append(key)
        if len(batch) >= 10000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
