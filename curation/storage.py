"""Object storage (`s3://bucket/prefix`, or any fsspec URL) for `input.path` and `output.path`.

Inputs are read and outputs written through datatrove's own `DataFolder`, so every reader and writer
works on a bucket unchanged. Credentials and endpoint come from where the AWS tools look for them
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, ...) or from a
recipe's `storage_options`, whose secret-bearing keys must name an environment variable (`${VAR}`):
the recipe text never holds a secret, and neither does anything the run writes or pickles
(`RemoteFolder` pickles the `${VAR}` names, and each task reads the variables where it runs).

What object storage cannot do, and what the run does instead, is in docs/object-storage.md.
"""

from __future__ import annotations

import os
import re
from typing import Any

from datatrove.io import DataFolder

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
ENV_ANY = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose value is a credential (s3fs `key`/`secret`/`token`, botocore `aws_secret_access_key`, gcsfs
# `token`, a `password`...): their value must be a `${VAR}` reference, never the secret itself.
SECRET_KEY = re.compile(r"secret|passw|token|credential|(^|_)key$|access_key|signature", re.IGNORECASE)
LOCAL_PROTOCOLS = ("file", "local")


class StorageError(Exception):
    """The object store cannot be used (unreachable, no credentials, no bucket, access denied): one
    line naming the URL, never a secret; `curate` exits 1."""


def is_url(path: object) -> bool:
    """True for an fsspec URL of a remote store (`s3://...`); False for local paths and `file://`."""
    proto, sep, _ = str(path).partition("://")
    return bool(sep) and proto.isidentifier() and proto not in LOCAL_PROTOCOLS


def join(url: str, *parts: str) -> str:
    return "/".join([url.rstrip("/"), *(p.strip("/") for p in parts if p)])


def secret_keys(options: Any, path: tuple = ()) -> list[tuple]:
    """Key paths in `options` whose value is a credential written in clear (not a `${VAR}` reference)."""
    out: list[tuple] = []
    if isinstance(options, dict):
        for k, v in options.items():
            p = path + (k,)
            if isinstance(v, (dict, list)):
                out += secret_keys(v, p)
            elif (
                SECRET_KEY.search(str(k)) and v is not None and not (isinstance(v, str) and ENV_REF.match(v))
            ):
                out.append(p)
    elif isinstance(options, list):
        for i, v in enumerate(options):
            out += secret_keys(v, path + (i,))
    return out


def resolve(options: Any, where: str = "storage_options") -> Any:
    """`options` with every `${VAR}` replaced by the variable's value (StorageError when it is unset)."""
    if isinstance(options, dict):
        return {k: resolve(v, f"{where}.{k}") for k, v in options.items()}
    if isinstance(options, list):
        return [resolve(v, f"{where}.{i}") for i, v in enumerate(options)]
    if isinstance(options, str) and "${" in options:

        def env(m):
            if m.group(1) not in os.environ:
                raise StorageError(
                    f"{where}: environment variable {m.group(1)} is not set (it must be set "
                    "where the run and its tasks run)"
                )
            return os.environ[m.group(1)]

        return ENV_ANY.sub(env, options)
    return options


def mask(url: str) -> str:
    """A URL with any `user:password@` replaced by `***@`."""
    return re.sub(r"(://)[^/@]*@", r"\1***@", str(url))


def filesystem(url: str, options: dict | None = None, preflight: bool = False):
    """`(fs, path)` for a URL, with `storage_options` resolved. `preflight`: fail fast (one try, short
    timeouts) instead of botocore's retries, for the checks made before a run starts."""
    from fsspec.core import url_to_fs

    opts = resolve(dict(options or {}))
    if preflight and url.startswith(("s3://", "s3a://")):
        cfg = {"retries": {"max_attempts": 1, "mode": "standard"}, "connect_timeout": 5, "read_timeout": 20}
        opts = {
            **opts,
            "config_kwargs": {**cfg, **opts.get("config_kwargs", {})},
            "skip_instance_cache": True,
        }
    try:
        return url_to_fs(url, **opts)
    except ImportError as e:
        raise StorageError(
            f"{mask(url)}: {e} (for s3:// install the extra: pip install 'rootstock[s3]')"
        ) from None


class RemoteFolder(DataFolder):
    """A datatrove `DataFolder` on a URL whose `storage_options` may name environment variables.

    Pickled (executor.pik, Ray, worker processes) as the URL and the *unresolved* options, so no secret
    is ever written or sent; each process resolves the variables when it unpickles the folder.
    """

    cachable = False

    def __init__(self, url: str, options: dict | None = None):
        self.url, self.options = url, dict(options or {})
        fs, path = filesystem(url, self.options)
        super().__init__(path, fs=fs)

    def __reduce__(self):
        return RemoteFolder, (self.url, self.options)

    def __repr__(self) -> str:
        return f"RemoteFolder({mask(self.url)!r})"


def folder(path: str, options: dict | None = None):
    """What a datatrove reader or writer takes for `path`: a `RemoteFolder` for a URL, else the path."""
    return RemoteFolder(path, options) if is_url(path) else path


def split_glob(url: str, glob: str | None, options: dict | None = None) -> tuple[str, str | None]:
    """`(folder URL, glob pattern)` of an input URL: a file, a prefix, or a pattern (`s3://b/in/*.gz`)."""
    proto, _, rest = url.partition("://")
    parts = rest.split("/")
    for i, part in enumerate(parts):
        if any(ch in part for ch in "*?["):
            if i == 0:
                raise ValueError("a pattern in the bucket name")
            return f"{proto}://{'/'.join(parts[:i])}", "/".join(parts[i:])
    fs, path = filesystem(url, options)
    with storage_errors(url):
        is_file = fs.isfile(path)
        is_dir = not is_file and fs.isdir(path)
    if is_file:
        return url.rsplit("/", 1)[0], url.rsplit("/", 1)[1]
    if not is_dir:
        raise FileNotFoundError(f"input path does not exist: {url}")
    return url.rstrip("/"), glob


def _no_bucket(e: BaseException) -> bool:
    """s3fs's FileNotFoundError for a missing bucket (not for a missing object)."""
    text = str(e).lower()
    return isinstance(e, FileNotFoundError) and ("nosuchbucket" in text or "bucket does not exist" in text)


def _error_line(url: str, e: BaseException) -> str | None:
    """One line for what went wrong talking to the store, or None for an error we do not know."""
    name = type(e).__name__
    where = mask(url)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    at = f" at {mask(endpoint)}" if endpoint else ""
    if name in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"):
        return (
            f"{where}: no usable credentials ({e}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE), or name variables in storage_options"
        )
    if name in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ClientConnectorError",
        "ServerDisconnectedError",
    ) or isinstance(e, (ConnectionError, TimeoutError)):
        return f"{where}: cannot reach the object store{at} ({name})"
    if isinstance(e, PermissionError):
        return f"{where}: access denied by the object store{at} (check the credentials and the bucket policy)"
    if _no_bucket(e):
        return f"{where}: no such bucket{at}"
    if name in ("ClientError", "InvalidAccessKeyId", "SignatureDoesNotMatch") or "InvalidAccessKeyId" in str(
        e
    ):
        return f"{where}: the object store{at} refused the request ({name}; check the credentials)"
    return None


class storage_errors:
    """`with storage_errors(url): ...` turns what botocore/s3fs/aiohttp raise into one-line StorageErrors
    (a FileNotFoundError of a missing object passes through)."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if (
            e is None
            or isinstance(e, StorageError)
            or (isinstance(e, FileNotFoundError) and not _no_bucket(e))
        ):
            return False
        line = _error_line(self.url, e)
        if line is None and e.__cause__ is not None:
            line = _error_line(self.url, e.__cause__)
        if line is None:
            return False
        raise StorageError(line) from None


def check_reachable(url: str, options: dict | None = None) -> None:
    """Fail before anything is written when the store behind `url` cannot be used."""
    fs, path = filesystem(url, options, preflight=True)
    with storage_errors(url):
        bucket = path.split("/", 1)[0]
        fs.ls(bucket, refresh=True)
