"""`input.format: code`: a source tree, one document per file; its filters are in `steps/code_filters.py`.

The reader turns every file of a folder into one document (`path`, `language`, `size` in metadata) and
rejects binary files (NUL bytes, invalid UTF-8) through the ledger, so input = kept + removed + rejected.
It reads regular files inside the tree only: a symlink is rejected (`follow_symlinks: true` reads links
that resolve inside the tree), so a crawled repository cannot pull in `~/.aws/credentials`; FIFOs and
devices are rejected before they are opened (no hang, no endless `/dev/zero`), and at most
`input.max_doc_bytes` + 1 bytes of a file are read (a longer file is rejected with its size).
`exclude:` takes .gitignore-style patterns (see `ExcludeMatcher` for the exact semantics).
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from pathlib import PurePosixPath

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseDiskReader
from fsspec.implementations.local import LocalFileSystem
from pydantic import Field

from curation.formats.base import RejectingReaderMixin, folder_and_glob, with_rejects
from curation.registry import InputParams, ReaderContext, register_reader

# --- languages -----------------------------------------------------------------------------------

# fmt: off
EXTENSIONS = {
    "py": "python", "pyi": "python", "pyw": "python", "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp",
    "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "java": "java", "js": "javascript", "mjs": "javascript",
    "cjs": "javascript", "ts": "typescript", "tsx": "typescript", "jsx": "javascript", "go": "go",
    "rs": "rust", "rb": "ruby", "php": "php", "pl": "perl", "pm": "perl", "sh": "shell", "bash": "shell",
    "zsh": "shell", "ps1": "powershell", "bat": "batch", "cmd": "batch", "lua": "lua", "r": "r",
    "scala": "scala", "kt": "kotlin", "swift": "swift", "m": "objective-c", "cs": "csharp", "sql": "sql",
    "html": "html", "htm": "html", "xml": "xml", "css": "css", "json": "json", "yaml": "yaml",
    "yml": "yaml", "toml": "toml", "ini": "ini", "cfg": "ini", "md": "markdown", "rst": "restructuredtext",
    "txt": "text", "tex": "tex", "mk": "makefile", "cmake": "cmake", "vim": "vim", "el": "emacs-lisp",
    "hs": "haskell", "ml": "ocaml", "jl": "julia", "asm": "assembly", "s": "assembly", "csv": "csv",
    "tsv": "csv", "svg": "xml", "ipynb": "json",
}
FILENAMES = {
    "makefile": "makefile", "gnumakefile": "makefile", "dockerfile": "dockerfile",
    "cmakelists.txt": "cmake",
}
SHEBANGS = {  # interpreter name (after env / path, version digits stripped) -> language
    "python": "python", "sh": "shell", "bash": "shell", "zsh": "shell", "dash": "shell", "ksh": "shell",
    "perl": "perl", "ruby": "ruby", "node": "javascript", "lua": "lua", "php": "php", "rscript": "r",
}
# fmt: on
_SHEBANG = re.compile(r"#!\s*(\S+)(?:\s+(?:-\S+\s+)*(\S+))?")


def detect_language(path: str, text: str) -> str:
    """Language of a file by extension, then well-known file names, then the shebang line; else `unknown`.

    Args:
        path: the file path (only the name is used).
        text: the file content (only the first line is read, for `#!`).
    """
    name = PurePosixPath(path).name.lower()
    if name in FILENAMES:
        return FILENAMES[name]
    ext = name.rsplit(".", 1)[1] if "." in name.lstrip(".") else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    m = _SHEBANG.match(text[:200])
    if m:
        prog = PurePosixPath(m.group(1)).name
        if prog == "env" and m.group(2):
            prog = PurePosixPath(m.group(2)).name
        prog = re.sub(r"[\d.]+$", "", prog.lower())  # python3.11 -> python
        if prog in SHEBANGS:
            return SHEBANGS[prog]
    return "unknown"


# --- exclusion patterns --------------------------------------------------------------------------


class ExcludeMatcher:
    """.gitignore-style exclusion: `pathspec`'s gitwildmatch when installed, else an fnmatch subset.

    Fallback semantics (paths are relative to the input folder, with `/` separators):
      - a pattern without `/` (e.g. `*.pyc`, `__pycache__`) matches the file name or any folder name;
      - a pattern with `/` inside is anchored at the input folder (`Lib/test/*`); a leading `/` too;
      - a trailing `/` (`build/`) matches folders only, i.e. everything under them;
      - `*`, `?`, `[...]` are fnmatch's, where `*` also crosses `/` (so `**` behaves like `*`);
      - `!pattern` re-includes; the last matching pattern wins, as in git.
    """

    def __init__(self, patterns: list[str]):
        self.patterns = [p.strip() for p in patterns if p.strip() and not p.strip().startswith("#")]
        self._spec = None
        try:
            import pathspec

            self._spec = pathspec.PathSpec.from_lines("gitwildmatch", self.patterns)
        except ImportError:
            pass

    def __call__(self, relpath: str) -> bool:
        """True when `relpath` is excluded."""
        if not self.patterns:
            return False
        if self._spec is not None:
            return self._spec.match_file(relpath)
        excluded = False
        for pattern in self.patterns:
            negate = pattern.startswith("!")
            if self._fn_match(pattern[1:] if negate else pattern, relpath):
                excluded = not negate
        return excluded

    @staticmethod
    def _fn_match(pattern: str, relpath: str) -> bool:
        parts = relpath.split("/")
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        candidates = parts[:-1] if dir_only else parts  # a folder pattern never matches the file itself
        if "/" not in pattern:
            return any(fnmatch.fnmatchcase(p, pattern) for p in candidates)
        pattern = pattern.lstrip("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(candidates))]
        return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)


# --- reader --------------------------------------------------------------------------------------


class _SourceTreeReader(BaseDiskReader):
    """One document per file; lists files itself so that excluded files are never opened or counted."""

    name = "🧑‍💻 Source tree"

    def __init__(
        self, data_folder, exclude: list[str] | None = None, follow_symlinks: bool = False, **kwargs
    ):
        super().__init__(data_folder, **kwargs)
        self.exclude = list(exclude or [])
        self.follow_symlinks = follow_symlinks

    def list_shard(self, rank: int, world_size: int) -> list[str]:
        matcher = ExcludeMatcher(self.exclude)
        files = self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern)
        return [f for f in files if not matcher(f)][rank::world_size]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        for doc in self.read_files_shard(self.list_shard(rank, world_size)):
            self.update_doc_stats(doc)
            yield doc

    def read_file(self, filepath: str):
        raw, size = self._read_bounded(filepath)
        if raw is None:
            return
        limit = self.max_doc_bytes or size
        if len(raw) > limit:
            self.reject(filepath, None, f"document too large: {max(size, len(raw))} bytes > input.max_doc_bytes "
                        f"{self.max_doc_bytes}", raw[:200])
            return
        nul = raw.find(b"\x00")
        if nul != -1:
            self.reject(filepath, None, f"binary file: NUL byte at offset {nul}", raw[:200])
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.reject(filepath, None, f"invalid UTF-8: {e}", raw[:200])
            return
        text = text.removeprefix("\ufeff")  # BOM
        meta = {"path": filepath, "language": detect_language(filepath, text), "size": len(raw)}
        self.stat_update("input_bytes", value=len(raw))
        yield Document(text=text, id=filepath, metadata=meta)

    def _read_bounded(self, filepath: str) -> tuple[bytes | None, int]:
        """(at most max_doc_bytes + 1 bytes, size): bounded, so a file that grows or lies about its size is
        cut. A local tree is read through `_open_regular`'s checks; an object store has no links, FIFOs or
        devices, so its objects are opened through the DataFolder."""
        if not isinstance(self.data_folder.fs, LocalFileSystem):
            with self.data_folder.open(filepath, "rb") as f:
                size = self.data_folder.size(filepath)
                return f.read((self.max_doc_bytes or size) + 1), size
        opened = self._open_regular(filepath)
        if opened is None:
            return None, 0
        fd, size = opened
        with open(fd, "rb") as f:
            return f.read((self.max_doc_bytes or size) + 1), size

    def _open_regular(self, filepath: str) -> tuple[int, int] | None:
        """(fd, size) of a regular file inside the tree, or None after rejecting it with the reason.

        Checked before opening (lstat: a FIFO would block `open` forever, `/dev/zero` never ends) and
        again on the open descriptor (the path could be swapped in between). A path through a symlink
        is refused unless `follow_symlinks`, and then only when it resolves inside the tree.
        """
        root = os.path.realpath(self.data_folder.path)
        full = os.path.join(self.data_folder.path, filepath)
        real = os.path.realpath(full)
        through_link = os.path.normpath(os.path.join(root, filepath)) != real
        if through_link and not self.follow_symlinks:
            self.reject(filepath, None, "symlink: not followed (input.follow_symlinks: false)")
            return None
        if through_link and os.path.commonpath([root, real]) != root:
            self.reject(filepath, None, "symlink to a path outside the input tree: not followed")
            return None
        try:
            st = os.stat(real)
            if not stat.S_ISREG(st.st_mode):
                self.reject(filepath, None, f"not a regular file ({_kind(st.st_mode)}): not read")
                return None
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as e:
            self.reject(filepath, None, f"unreadable: {e.strerror}")
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self.reject(filepath, None, f"not a regular file ({_kind(st.st_mode)}): not read")
            return None
        os.set_blocking(fd, True)
        return fd, st.st_size


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


class CodeReader(RejectingReaderMixin, _SourceTreeReader):
    """Source files -> documents; binary / non-UTF-8 files go to `rejected/` with the reason."""


class CodeInputParams(InputParams):
    exclude: list[str] = Field(
        default_factory=list, description=".gitignore-style patterns of files to skip (not read, not counted)"
    )
    follow_symlinks: bool = Field(
        False, description="read files reached through symlinks, when they resolve inside the tree (else rejected)"
    )


@register_reader("code", CodeInputParams)
def code_reader(p: CodeInputParams, ctx: ReaderContext):
    """A source tree (folder or glob): one document per file with metadata path, language, size (bytes)."""
    from curation.storage import folder as data_folder

    folder, glob = folder_and_glob(p.path, p.glob, p.storage_options)
    reader = CodeReader(
        data_folder(folder, p.storage_options), exclude=p.exclude, follow_symlinks=p.follow_symlinks,
        glob_pattern=glob, limit=ctx.limit, doc_progress=ctx.progress,
    )
    return with_rejects(reader, ctx, p)
