"""`bookbuild new DIR`: a small book root that uses every feature once, for a new author to start from.

The starter book lives as real files in `files/` (package data): a chapter is edited as a chapter.
A few values are filled in when it is written, each where a `%%NAME%%` mark stands: the title and
author (as YAML scalars in book.yaml, so a colon, a quote or a `#` in them round-trips), the slug,
a fresh `urn:uuid:` identifier, today's date, and the pinned bookbuild the publishing workflow
installs. The JSON Schemas of the four YAML file kinds go to `schemas/`. The book is written into
a temporary folder (beside DIR, or hidden inside it when DIR is an existing empty folder) and
moved into place: a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import SOURCE_URL, __version__
from ..errors import BookError
from ..load import slugify

FILES = Path(__file__).resolve().parent / "files"
# names that package data does not carry well (hidden files are left out of wheels by some tools)
RENAMES = {"gitignore": ".gitignore", "github": ".github"}
DEFAULT_TITLE = "Hash Tables and Caches"
DEFAULT_AUTHOR = "Your Name"
MARK = re.compile(r"%%([A-Z_]+)%%")


@dataclass(frozen=True)
class NewBook:
    root: Path
    files: tuple[Path, ...]  # relative to root

    def summary(self, shown_as: str) -> str:
        """What was made, and the commands to run next (`shown_as`: DIR as the user typed it)."""
        import shlex

        chapters = sum(1 for f in self.files if f.parent == Path("book/chapters") and f.suffix == ".md")
        topics = sum(1 for f in self.files if f.parent == Path("questions") and f.suffix == ".yaml"
                     and f.name not in ("interviews.yaml", "discarded.yaml"))
        lines = [
            f"Started a book in {self.root}:",
            "  book/book.yaml                 title, author, parts, the release and draft editions",
            f"  book/chapters/                 {chapters} chapters in pandoc Markdown (practice.md ends with the syntax)",
            "  book/images/                   a figure",
            f"  questions/                     {topics} topics, a sample interview, a discarded question",
            "  schemas/                       JSON Schemas of the YAML files, for your editor",
            "  .github/workflows/publish.yml  checks and builds every push, publishes each v* tag",
            "  README.md, .gitignore",
            "Next:",
            ("  " if self.root == Path.cwd().resolve() else f"  cd {shlex.quote(shown_as)} && ")
            + "bookbuild check && bookbuild serve",
        ]
        return "\n".join(lines)


def yaml_scalar(value: str | dt.date) -> str:
    """`value` as one YAML scalar (quoted when it must be): never pasted into YAML as it is."""
    text = yaml.safe_dump({"v": value}, allow_unicode=True, default_flow_style=False, width=float("inf"))
    assert text.startswith("v: ") and text.endswith("\n") and text.count("\n") == 1, text
    return text[3:-1]


def bookbuild_requirement() -> str:
    """The pip requirement that installs this bookbuild: its repository at the tag of its version."""
    try:
        from importlib.metadata import version
        installed = version("bookbuild")
    except Exception:  # run from a checkout that was never installed
        installed = __version__
    return f"bookbuild @ git+{SOURCE_URL}@v{installed}"


def check_text(value: str, what: str) -> str:
    """A title or author: one line, not blank (it is a heading in the README and on the title page)."""
    value = value.strip()
    if not value:
        raise ValueError(f"the {what} is empty")
    if any(c in value for c in "\n\r\x00") or any(ord(c) < 32 and c != "\t" for c in value):
        raise ValueError(f"the {what} must be one line of text")
    return value


def new_book(target: Path, title: str | None = None, author: str | None = None) -> NewBook:
    """Write the starter book into `target` (new, or an empty folder); BookError if it cannot."""
    target = Path(os.path.abspath(target))
    if target.is_symlink():
        target = target.resolve()
    if target.exists() and not target.is_dir():
        raise BookError(f"{target} is a file: give a new or empty folder for the book")
    if target.is_dir() and any(target.iterdir()):
        raise BookError(f"{target} is not empty: `bookbuild new` writes only into a new or empty folder, "
                        "and never overwrites")
    title = check_text(DEFAULT_TITLE if title is None else title, "title")
    author = check_text(DEFAULT_AUTHOR if author is None else author, "author")
    values = {
        "TITLE": title, "AUTHOR": author, "SLUG": slugify(title),
        "IDENTIFIER": f"urn:uuid:{uuid.uuid4()}", "DATE": dt.date.today(),  # a date, unquoted in YAML
        "SOURCE_URL": SOURCE_URL, "BOOKBUILD_REQUIREMENT": bookbuild_requirement(),
    }
    existing = target.is_dir()
    # a new folder is written beside its place and renamed into it; an empty folder is kept (it
    # may be the shell's working directory: `bookbuild new .`) and the book is written inside
    # it, hidden, then its entries are moved up one by one, and moved back if one cannot be
    where = target if existing else target.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=where))
    except OSError as exc:
        raise BookError(f"cannot write in {where}: {exc.strerror or exc}") from None
    try:
        written = _write_files(tmp, values)
        from ..fileformat import write_schemas
        written += [p.relative_to(tmp) for p in write_schemas(tmp / "schemas")]
        if existing:
            _move_entries(tmp, target)
        else:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a book folder is an ordinary one
            os.rename(tmp, target)  # fails if the folder appeared meanwhile
    except OSError as exc:
        raise BookError(f"cannot write the new book into {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return NewBook(target, tuple(sorted(written)))


def _move_entries(source: Path, target: Path) -> None:
    """Move each entry of `source` into `target`, where none may exist yet; all of them or none."""
    moved: list[Path] = []
    try:
        for entry in sorted(source.iterdir()):
            dest = target / entry.name
            if dest.exists() or dest.is_symlink():
                raise FileExistsError(17, "the folder was filled meanwhile", str(dest))
            os.rename(entry, dest)
            moved.append(dest)
    except OSError:
        for dest in reversed(moved):
            try:
                os.rename(dest, source / dest.name)
            except OSError:
                pass
        raise


def _write_files(dest: Path, values: dict[str, str | dt.date]) -> list[Path]:
    written = []
    for source in sorted(FILES.rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        relative = Path(*(RENAMES.get(part, part) for part in source.relative_to(FILES).parts))
        out = dest / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".svg":
            shutil.copyfile(source, out)
        else:
            text = source.read_text(encoding="utf-8")
            as_yaml = source.suffix in (".yaml", ".yml")
            text = MARK.sub(lambda m: _fill(m.group(1), values, as_yaml, source), text)
            out.write_text(text, encoding="utf-8")
        written.append(relative)
    return written


def _fill(name: str, values: dict[str, str | dt.date], as_yaml: bool, source: Path) -> str:
    if name not in values:
        raise KeyError(f"{source}: unknown mark %%{name}%%")
    return yaml_scalar(values[name]) if as_yaml else str(values[name])
