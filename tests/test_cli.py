"""The command line as people expect it: unknown commands and close misses get "did you mean",
counts read right, and `serve` ignores editors' temporary files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bookbuild.cli import main
from bookbuild.errors import did_you_mean, plural
from bookbuild.serve import SourceFilter
from conftest import ROOT, run_cli


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


# ---- commands ---------------------------------------------------------------------------------

def test_unknown_command_is_a_usage_error_with_the_command_meant():
    done = run_cli("chek")  # the real entry point
    assert done.returncode == 2, done.stderr
    assert "No such command 'chek'. Did you mean 'check'?" in done.stderr
    assert "Usage: build.py build" not in done.stderr + done.stdout  # not build's usage
    assert "Traceback" not in done.stderr


def test_unknown_command_nothing_close_lists_the_commands():
    done = invoke("frobnicate")
    assert done.exit_code == 2
    assert "No such command 'frobnicate'." in done.output
    for command in ("build", "check", "sheet", "serve", "import-gitbook"):
        assert command in done.output.split("The commands are: ")[1]


def test_sheet_misspelt():
    done = invoke("shet", "--topic", "stats")
    assert done.exit_code == 2
    assert "Did you mean 'sheet'?" in done.output


def test_build_is_still_the_default_when_the_first_argument_is_an_option(mini):
    # build ran: it looked for the edition (exit 1, the book's kind of error, not a usage error)
    done = invoke("--book", str(mini), "--edition", "nope")
    assert done.exit_code == 1, done.output
    assert "no edition named 'nope'" in done.output


def test_no_arguments_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no book here: build says so
    done = invoke()
    assert done.exit_code == 1, done.output
    assert "book/book.yaml not found" in done.output


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["build", "--help"], ["check", "--help"]])
def test_help(args):
    done = invoke(*args)
    assert done.exit_code == 0, done.output
    assert "Usage:" in done.output


def test_version():
    done = invoke("--version")
    assert done.exit_code == 0, done.output
    assert "version" in done.output


# ---- close misses of names given on the command line --------------------------------------------

@pytest.mark.parametrize("command", ["build", "check", "serve"])
def test_edition_misspelt(mini, command):
    done = invoke(command, "--book", str(mini), "--edition", "relase")
    assert done.exit_code == 1, done.output
    assert "no edition named 'relase'; book.yaml has: draft, release; did you mean 'release'?" in done.output


def test_sheet_topic_misspelt(mini):
    done = invoke("sheet", "--book", str(mini), "--topic", "stat", "--format", "html")
    assert done.exit_code == 1, done.output
    assert "error: no topic 'stat' in this book; its topics are: stats; did you mean 'stats'?" in done.output


def test_sheet_interview_misspelt(mini):
    done = invoke("sheet", "--book", str(mini), "--interview", "scren", "--format", "html")
    assert done.exit_code == 1, done.output
    assert "error: no interview 'scren' in this book; its interviews are: screen; did you mean 'screen'?" in done.output


def test_sheet_tag_misspelt(mini):
    done = invoke("sheet", "--book", str(mini), "--tags", "descriptiv", "--format", "html")
    assert done.exit_code == 1, done.output
    assert "the tags there are: descriptive; did you mean 'descriptive'?" in done.output


def test_sheet_exclude_misspelt(mini, tmp_path):
    (tmp_path / "done.txt").write_text("mean-medain\n")
    done = invoke("sheet", "--book", str(mini), "--exclude", str(tmp_path / "done.txt"), "--format", "html",
                  "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert "no question has the id 'mean-medain'; the line is ignored; did you mean 'mean-median'?" in done.output


def test_xref_filter_alone_suggests_the_label(tmp_path):
    """Run as `pandoc --filter filters/xref.py` (no check before it): a reference without a target."""
    import pypandoc
    pandoc = pypandoc.get_pandoc_path()
    doc = subprocess.run([pandoc, "-t", "json"], input="# A {#sec:intro}\n\nSee @sec:intor.\n", text=True,
                         capture_output=True, check=True, timeout=60).stdout
    for name in ("number", "xref"):
        done = subprocess.run([sys.executable, str(ROOT / "filters" / f"{name}.py"), "html"], input=doc, text=True,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        doc = done.stdout
    assert "xref: warning: no target for @sec:intor; did you mean '@sec:intro'?" in done.stderr


def test_did_you_mean():
    assert did_you_mean("probabilty", ["probability", "statistics"]) == "; did you mean 'probability'?"
    assert did_you_mean("zzz", ["probability", "statistics"]) == ""
    assert did_you_mean("stats", ["stats"]) == ""  # the name itself is no suggestion
    assert did_you_mean(["chek", "shet", "x"], ["build", "check", "sheet"]) == "; did you mean 'check' or 'sheet'?"


# ---- counts -------------------------------------------------------------------------------------

def test_check_counts_are_pluralised(mini):
    done = invoke("check", "--book", str(mini))
    assert done.exit_code == 0, done.output
    assert "ok: 2 chapters, 3 questions, 1 interview\n" in done.output


def test_check_counts_one_of_each(mini):
    """One chapter (basics.md's blocks moved into intro.md), one question, one interview."""
    book = mini / "book/book.yaml"
    book.write_text(book.read_text().replace("  - title: Questions\n    chapters: [basics.md]\n", "")
                    .replace("chapters: [basics.md], ", ""))
    (mini / "book/chapters/basics.md").unlink()
    intro = mini / "book/chapters/intro.md"
    intro.write_text(intro.read_text().replace(" and [@q:mean-median; @q:var-scale] together", "")
                     + '\n::: {.questions topic="stats"}\n:::\n\n::: {.interview id="screen"}\n:::\n\n::: discarded\n:::\n')
    stats = mini / "questions/stats.yaml"
    stats.write_text(stats.read_text().split("  - id: var-scale")[0])
    interviews = mini / "questions/interviews.yaml"
    interviews.write_text(interviews.read_text().split("      - {title: Core")[0])
    done = invoke("check", "--book", str(mini))
    assert done.exit_code == 0, done.output
    assert "ok: 1 chapter, 1 question, 1 interview\n" in done.output


def test_one_error_is_counted_as_one(mini):
    stats = mini / "questions/stats.yaml"
    stats.write_text(stats.read_text().replace("difficulty: hard", "difficulty: tricky"))
    done = invoke("check", "--book", str(mini))
    assert done.exit_code == 1
    assert done.output.rstrip().endswith("\n1 error")


def test_plural():
    assert [plural(n, "interview") for n in (0, 1, 2)] == ["0 interviews", "1 interview", "2 interviews"]
    assert plural(2, "query", "queries") == "2 queries"


# ---- serve: editors' temporary files ------------------------------------------------------------

EDITOR_FILES = [
    "book/chapters/.intro.md.swp", "book/chapters/.intro.md.swx", "book/chapters/.intro.md.swo",
    "book/chapters/intro.md.swp", "book/chapters/4913", "book/chapters/5036", "book/chapters/intro.md~",
    "book/chapters/.#intro.md", "book/chapters/#intro.md#", "questions/stats.yaml___jb_tmp___",
    "questions/stats.yaml___jb_old___", "book/chapters/.goutputstream-ZX81QB", "book/chapters/intro.md.tmp",
    "book/images/.DS_Store", "book/.git/index", "templates/.cache/x.html",
]
SOURCES = ["book/chapters/intro.md", "book/book.yaml", "questions/stats.yaml", "book/images/plot.svg",
           "templates/site.html", "book/chapters/chapter-4913.md"]


@pytest.mark.parametrize("name", EDITOR_FILES)
def test_serve_ignores_editor_files(tmp_path, name):
    from watchfiles import Change
    watch_filter = SourceFilter(tmp_path)
    for change in Change:
        assert not watch_filter(change, str(tmp_path / name)), name


@pytest.mark.parametrize("name", SOURCES)
def test_serve_watches_sources(tmp_path, name):
    from watchfiles import Change
    watch_filter = SourceFilter(tmp_path)
    assert watch_filter(Change.modified, str(tmp_path / name))
    # also with a relative book root, and under a hidden folder of the user's
    assert SourceFilter(Path("."))(Change.modified, name)
    assert SourceFilter(tmp_path / ".books" / "mine")(Change.added, str(tmp_path / ".books" / "mine" / name))
