"""The no-op build: "nothing changed" decided from file metadata, before anything is imported.

A build that succeeds leaves a record (`.bookbuild-cache/builds/<key>.json`, signed as the rest
of the cache) of what it read and wrote: for every file, its size, mtime_ns, ctime_ns and inode,
the way git's index keeps them. The next build with the same options compares them first; when
every input and output is as recorded, it prints what the recorded build printed (its warnings,
its outputs) and stops, without loading the book.

What a build reads: every file under the book's `book/`, `questions/` and `templates/` folders (a
file added or removed there is a change), the images and chapters it named outside them, and the
toolchain (bookbuild's own code and templates, and the libraries that write the outputs). The
build date is part of the key: SOURCE_DATE_EPOCH, or the last commit of the book's repository.
A build dated "now" leaves no record.

A file whose mtime falls within two seconds of the moment its metadata was taken is "racy", as
git calls it: an edit in the same clock tick can leave every field as it was. Its content is
hashed into the record and compared as well. A file edited and given its old mtime back
(`os.utime`) still differs in ctime_ns.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cache import FOLDER

WATCHED = ("book", "questions", "templates")  # a file added to one of these is a change
RACY_NS = 2_000_000_000
# the libraries whose versions shape an output (an upgrade rewrites their files)
LIBRARIES = ("pypandoc", "panflute", "weasyprint", "ziamath", "pydyf", "jinja2", "yaml", "genanki")
VERSION = 2


def _stat(path: Path) -> list[int] | None:
    """The fields compared, of the path itself (a symbolic link is not followed: what it points
    to is recorded where it is read); the last one says whether it is a regular file."""
    try:
        s = os.lstat(path)
    except OSError:
        return None
    return [s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, int(stat.S_ISREG(s.st_mode))]


def _hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _walk(folder: Path, skip: tuple[Path, ...]) -> list[Path]:
    """Every file under `folder` (links not followed), in a stable order; `skip`: folders left out."""
    found: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return found
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                if path not in skip and entry.name != "__pycache__":
                    found.extend(_walk(path, skip))
            else:
                found.append(path)
        except OSError:
            continue
    return found


def _toolchain() -> list[Path]:
    """bookbuild's code and templates, and the libraries' own files: what a changed toolchain changes."""
    import importlib.util

    files = _walk(Path(__file__).resolve().parent, ())
    for package in ("bookbuild.filters", "bookbuild.templates"):  # folders of their own (pyproject.toml)
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            files.extend(_walk(Path(folder).resolve(), ()))
    for name in LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    return files


def build_date_key(root: Path) -> str | None:
    """What dates a build, as text: SOURCE_DATE_EPOCH, else the book repository's last commit
    (the time and the commit), else "book.yaml" (its date is an input). None: git is there and
    failed, so the date is unsure."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return f"epoch {env}"
    try:
        done = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%H %ct"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "book.yaml"
    return f"git {done.stdout.strip()}" if done.returncode == 0 else "book.yaml"


def options_key(options) -> str | None:
    """The record's name for these build options; None when such a build always runs (--since,
    --mark-sent: they read git or write into the book)."""
    if options.since or options.mark_sent:
        return None
    fields = {"root": str(Path(options.root).resolve()), "edition": options.edition,
              "formats": list(options.formats), "answers": options.answers, "page_size": options.page_size,
              "pdf_variant": options.pdf_variant, "out": str(Path(options.out).resolve()) if options.out else None,
              "strict": options.strict, "proof": options.proof, "python": sys.executable, "version": VERSION,
              "serial": os.environ.get("BOOKBUILD_PDF_SERIAL", "")}  # the PDF laid out in one piece
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class Snapshot:
    """The metadata of files, taken at one moment (racy files hashed then)."""

    taken_ns: int = field(default_factory=time.time_ns)
    files: dict[str, list] = field(default_factory=dict)

    def add(self, path: Path) -> None:
        key = str(path)
        if key in self.files:
            return
        fields = _stat(path)
        if fields is None:
            self.files[key] = None
            return
        racy = fields[1] >= self.taken_ns - RACY_NS or fields[2] >= self.taken_ns - RACY_NS
        self.files[key] = fields + [_hash(path) if racy and fields[4] else None]

    @staticmethod
    def same(recorded: dict[str, list | None]) -> bool:
        """Whether every recorded file still has its recorded metadata (and content, if racy)."""
        for key, entry in recorded.items():
            fields = _stat(Path(key))
            if entry is None or fields is None:
                if entry is not None or fields is not None:
                    return False
                continue
            if fields != entry[:5]:
                return False
            if entry[5] is not None and _hash(Path(key)) != entry[5]:
                return False
        return True


def _watched(root: Path, skip: tuple[Path, ...]) -> list[Path]:
    return [path for name in WATCHED for path in _walk(root / name, skip)]


def _skip(root: Path, out: Path | None) -> tuple[Path, ...]:
    return (root / FOLDER, (out or root / "dist").resolve())


def _record_name(key: str) -> str:
    return f"builds/{key}.json"


def begin(options) -> tuple[str, Snapshot] | None:
    """Before a build reads its sources: their metadata, to be recorded if it succeeds."""
    key = options_key(options)
    if key is None:
        return None
    root = Path(options.root).resolve()
    snapshot = Snapshot()
    for path in _watched(root, _skip(root, options.out)):
        snapshot.add(path)
    for path in _toolchain():
        snapshot.add(path)
    return key, snapshot


def record(options, begun: tuple[str, Snapshot] | None, read: list[Path], outputs: list[Path],
           printed: dict) -> None:
    """After a successful build: what it read (`read`: files outside the watched folders too),
    what it wrote and what it printed, for the next build with the same options."""
    from .cache import Cache

    if begun is None:
        return
    key, snapshot = begun
    root = Path(options.root).resolve()
    date = build_date_key(root)
    if date is None or printed.get("date_source") == "now":
        return
    for path in read:
        snapshot.add(Path(path).resolve())
    written = Snapshot()
    for path in outputs:
        path = Path(path)
        for item in (_walk(path, ()) if path.is_dir() else []):
            written.add(item)
        written.add(path)
    body = json.dumps({"date": date, "inputs": snapshot.files, "outputs": written.files,
                       "printed": printed}, sort_keys=True)
    # written as the cache writes (never through a link out of its folder), or not at all
    Cache(root).put_named(_record_name(key), body)


def forget(options) -> None:
    """Drop the record for these options (a build that failed or was refused)."""
    key = options_key(options)
    if key is not None:
        try:
            (Path(options.root).resolve() / FOLDER / _record_name(key)).unlink(missing_ok=True)
        except OSError:
            pass


def up_to_date(options) -> dict | None:
    """What the last build with these options printed, if nothing it read or wrote has changed
    since; else None (build)."""
    from .cache import read_named

    key = options_key(options)
    if key is None:
        return None
    root = Path(options.root).resolve()
    text = read_named(root, _record_name(key))
    try:
        data = json.loads(text) if text else None
        inputs, outputs, printed = data["inputs"], data["outputs"], data["printed"]
    except (ValueError, TypeError, KeyError):
        return None
    watched = {str(p) for p in _watched(root, _skip(root, options.out))}
    if not watched <= inputs.keys():  # a file added to book/, questions/ or templates/
        return None
    if data.get("date") != build_date_key(root):
        return None
    if not Snapshot.same(inputs) or not Snapshot.same(outputs):
        return None
    for path in printed.get("outputs", []):  # a folder's files were recorded one by one: one added
        if Path(path).is_dir() and not {str(p) for p in _walk(Path(path), ())} <= outputs.keys():
            return None
    return printed
