"""A content-hash cache in `<book root>/.bookbuild-cache/`: delete the folder to force a full build.

Keys hash everything an artefact depends on: its input, the templates, the code of bookbuild and
its filters, and the versions of pandoc, panflute, WeasyPrint and ziamath. A changed template,
filter or dependency therefore misses the cache instead of serving a stale output.

The folder sits in the book, and a book is untrusted: it could come with a cache made to put
raw HTML into an output. So every object and the record of outputs is signed with a key of this
user's (`~/.cache/bookbuild/secret`, made on first use); anything unsigned or signed otherwise
is ignored and rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import threading
from importlib import metadata
from pathlib import Path

from .output import write_atomic

FOLDER = ".bookbuild-cache"


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
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
    return text if hmac.compare_digest(mac, _sign(key, text)) else None


@functools.cache
def code_digest() -> str:
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


class Cache:
    """Cached texts by key, and the key each output was last built from."""

    def __init__(self, root: Path, enabled: bool = True):
        self.folder = root / FOLDER
        self.enabled = enabled
        self._outputs_path = self.folder / "outputs.json"
        try:
            stored = _signed("outputs", self._outputs_path.read_text()) if enabled else None
            self._outputs = json.loads(stored) if stored else {}
        except (OSError, ValueError):
            self._outputs = {}
        self._lock = threading.Lock()  # builders run in parallel threads

    def _path(self, key: str) -> Path:
        return self.folder / "objects" / key[:2] / key

    def get(self, key: str) -> str | None:
        if not self.enabled:
            return None
        try:
            return _signed(key, self._path(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: str, text: str) -> None:
        if self.enabled:
            write_atomic(self._path(key), _sealed(key, text))

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
            write_atomic(self._outputs_path, _sealed("outputs", json.dumps(self._outputs, indent=1, sort_keys=True)))
