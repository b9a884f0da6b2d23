"""`input.format: code`: a source tree, one document per file; its filters are in `steps/code_filters.py`.

The reader turns every file of a folder into one document (`path`, `language`, `size` in metadata) and
rejects binary files (NUL bytes, invalid UTF-8) through the ledger, so input = kept + removed + rejected.
`exclude:` takes .gitignore-style patterns (see `ExcludeMatcher` for the exact semantics).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseDiskReader
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
        self, data_folder, exclude: list[str] | None = None, max_read_bytes: int | None = None, **kwargs
    ):
        super().__init__(data_folder, **kwargs)
        self.exclude = list(exclude or [])
        self.max_read_bytes = max_read_bytes

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
        with self.data_folder.open(filepath, "rb") as f:
            raw = f.read()
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


class CodeReader(RejectingReaderMixin, _SourceTreeReader):
    """Source files -> documents; binary / non-UTF-8 files go to `rejected/` with the reason."""


class CodeInputParams(InputParams):
    exclude: list[str] = Field(
        default_factory=list, description=".gitignore-style patterns of files to skip (not read, not counted)"
    )


@register_reader("code", CodeInputParams)
def code_reader(p: CodeInputParams, ctx: ReaderContext):
    """A source tree (folder or glob): one document per file with metadata path, language, size (bytes)."""
    from curation.storage import folder as data_folder

    folder, glob = folder_and_glob(p.path, p.glob, p.storage_options)
    reader = CodeReader(
        data_folder(folder, p.storage_options), exclude=p.exclude, glob_pattern=glob, limit=ctx.limit, doc_progress=ctx.progress
    )
    return with_rejects(reader, ctx, p)
