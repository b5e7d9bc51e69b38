"""A content-hash cache in `<book root>/.bookbuild-cache/`: delete the folder to force a full build.

Keys hash everything an artefact depends on: its input, the templates, the code of bookbuild and
its filters, and the versions of pandoc, panflute, WeasyPrint and ziamath. A changed template,
filter or dependency therefore misses the cache instead of serving a stale output.

The folder sits in the book, and a book is untrusted: it could come with a cache made to put
raw HTML into an output. So every object and the record of outputs is signed with a key of this
user's (`~/.cache/bookbuild/secret`, made on first use); anything unsigned or signed otherwise
is ignored and rebuilt.

The cache is disposable: a file or a symbolic link where the folder goes, an entry that cannot be
read or is signed otherwise, a folder that cannot be written: each is discarded (or the cache left
aside) with a warning, and the build goes on cold. Nothing is written through a link out of it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path

from .output import write_atomic

FOLDER = ".bookbuild-cache"


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        # any text, lone surrogates included (a YAML escape "\\ud800" makes one): hashed, not refused
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@functools.cache
def _secret() -> bytes:
    """This user's signing key; a key for this process alone when none can be kept."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bookbuild"
    path = base / "secret"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = os.urandom(32)
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
    except FileExistsError:  # another build made it meanwhile
        return path.read_bytes()
    except OSError:
        pass
    return key


def _sign(key: str, text: str) -> str:
    return hmac.new(_secret(), f"{key}\n{text}".encode("utf-8"), hashlib.sha256).hexdigest()


def _sealed(key: str, text: str) -> str:
    """What is stored: the signature on the first line, then the text."""
    return f"{_sign(key, text)}\n{text}"


def _signed(key: str, stored: str) -> str | None:
    """The text of what `_sealed` stored, or None when the signature is not this user's."""
    mac, _, text = stored.partition("\n")
    return text if mac.isascii() and hmac.compare_digest(mac, _sign(key, text)) else None


@functools.cache
def code_digest() -> str:
    from importlib import metadata  # 16 ms to import: not for a no-op build (stamp.py)

    import bookbuild
    import bookbuild.filters
    parts = []
    for package in (bookbuild, bookbuild.filters):
        folder = Path(package.__file__).resolve().parent
        for path in sorted(folder.rglob("*.py")):
            parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
    for name in ("pypandoc-binary", "panflute", "weasyprint", "ziamath", "pydyf"):
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} missing")
    return digest(*parts)


def toolchain_digest(template_dirs: list[Path]) -> str:
    """What every cached artefact depends on besides its own input."""
    parts = [code_digest()]
    for folder in template_dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            parts += [path.name, path.read_bytes()]
    return digest(*parts)


def file_digest(path: Path) -> str:
    if path.is_dir():
        return digest(*[part for p in sorted(path.rglob("*")) if p.is_file()
                        for part in (p.relative_to(path).as_posix(), p.read_bytes())])
    return digest(path.read_bytes())


# what went wrong with each cache folder, said once per build as a warning (see `take_warnings`)
_problems: dict[Path, dict[str, int]] = {}
_problems_lock = threading.Lock()


def _note(folder: Path, message: str) -> None:
    with _problems_lock:
        counts = _problems.setdefault(folder, {})
        counts[message] = counts.get(message, 0) + 1


def take_warnings(root: Path) -> list[str]:
    """What was discarded from the book's cache since the last call, one sentence each."""
    with _problems_lock:
        counts = _problems.pop(root / FOLDER, {})
    return [message if n == 1 or "{n}" not in message else message.replace("{n}", str(n))
            for message, n in counts.items()]


def read_named(root: Path, name: str) -> str | None:
    """What `Cache.put_named` kept under `name` in the book's cache, if it is there, a regular
    file (not what a link points to) and signed with this user's key."""
    path = root / FOLDER / name
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return _signed(name, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _usable(folder: Path) -> bool:
    """Whether `folder` can be the cache: a real folder or nothing yet; else what is there is
    removed (it is the cache's place) and False if that fails."""
    try:
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            what = "a symbolic link" if folder.is_symlink() else "a file"
            folder.unlink()
            _note(folder, f"{what} named {FOLDER} was where the cache folder goes; it was removed and the "
                  "build starts without a cache")
    except OSError as exc:
        _note(folder, f"{FOLDER} is not a folder and cannot be removed ({exc.strerror}); "
              "the build goes on without a cache")
        return False
    return True


class Cache:
    """Cached texts by key, and the key each output was last built from."""

    def __init__(self, root: Path, enabled: bool = True):
        self.folder = root / FOLDER
        self.enabled = enabled and _usable(self.folder)
        self._outputs_path = self.folder / "outputs.json"
        self._outputs = {}
        if self.enabled:
            try:
                stored = _signed("outputs", self._outputs_path.read_text(encoding="utf-8"))
                outputs = json.loads(stored) if stored else {}
                if isinstance(outputs, dict) and all(isinstance(e, dict) and {"key", "digest"} <= e.keys()
                                                     for e in outputs.values()):
                    self._outputs = outputs
            except FileNotFoundError:
                pass
            except (OSError, ValueError):
                _note(self.folder, f"{FOLDER}/outputs.json could not be read; every output is built again")
        self._lock = threading.Lock()  # builders run in parallel threads

    def _path(self, key: str) -> Path:
        return self.folder / "objects" / key[:2] / key

    def get(self, key: str) -> str | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            text = _signed(key, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError):
            text = None
        if text is None:  # not this user's (a cache that came with the book), or damaged
            self.discard(key)
        return text

    def discard(self, key: str) -> None:
        """Drop an entry that is damaged or not this user's (with a warning): it is made again."""
        _note(self.folder, "{n} entries of the cache were damaged or not signed by this user and were "
              "discarded; what they held is made again")
        try:
            if self._inside(self._path(key)):
                self._path(key).unlink(missing_ok=True)
        except OSError:
            pass

    def _inside(self, path: Path) -> bool:
        """Whether writing `path` stays in the cache folder (no link in it points out)."""
        try:
            return path.parent.resolve().is_relative_to(self.folder.resolve()) and not path.is_symlink()
        except (OSError, RuntimeError):
            return False

    def _write(self, path: Path, text: str) -> None:
        if not self.enabled:
            return
        try:
            if not self._inside(path):  # checked before any folder is made through a link
                raise OSError(0, "a symbolic link in it points out of the cache folder")
            write_atomic(path, text)
        except OSError as exc:
            self.enabled = False  # the rest of this build does without
            _note(self.folder, f"the cache cannot be written ({exc.strerror or exc}); the build goes on "
                  "without it")

    def put(self, key: str, text: str) -> None:
        try:
            sealed = _sealed(key, text)
        except UnicodeEncodeError:  # text that is no UTF-8 (a lone surrogate): not kept
            return
        self._write(self._path(key), sealed)

    def put_named(self, name: str, text: str) -> None:
        """A signed text at a path of its own in the cache folder (e.g. `builds/<key>.json`);
        `read_named` gives it back."""
        self._write(self.folder / name, _sealed(name, text))

    def fresh(self, targets: list[Path], key: str) -> bool:
        """Whether every target exists, unchanged since it was built from `key`."""
        if not self.enabled:
            return False
        for target in targets:
            entry = self._outputs.get(str(target))
            if not entry or entry["key"] != key or not target.exists() or file_digest(target) != entry["digest"]:
                return False
        return True

    def record(self, targets: list[Path], key: str) -> None:
        if not self.enabled:
            return
        entries = {str(t): {"key": key, "digest": file_digest(t)} for t in targets}
        with self._lock:
            self._outputs.update(entries)
            self._write(self._outputs_path, _sealed("outputs", json.dumps(self._outputs, indent=1, sort_keys=True)))
