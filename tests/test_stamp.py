"""The no-op build (bookbuild/stamp.py): decided from file metadata, without loading the book, and
never fooled by an edit that keeps a file's size and mtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import EPOCH, ROOT, run_cli

# the build command in a process that says, last, whether it imported the pipeline (it built)
PROBE = ("import sys\nfrom bookbuild.cli import main\n"
         "try:\n    main(sys.argv[1:], prog_name='bookbuild')\nexcept SystemExit as exc:\n    code = exc.code\n"
         "print('BUILT' if 'bookbuild.pipeline' in sys.modules else 'NO-OP')\n")


def probe(*args: str) -> tuple[str, str, str]:
    """stdout (without the last line), stderr, and BUILT or NO-OP."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH}, timeout=300)
    *lines, verdict = done.stdout.splitlines()
    return "\n".join(lines), done.stderr, verdict


def test_noop_prints_what_the_build_printed_without_loading_the_book(mini):
    (mini / "book" / "chapters" / "intro.md").write_text(
        (mini / "book" / "chapters" / "intro.md").read_text() + "\nSee [nowhere](#no-such-id).\n")
    first_out, first_err, verdict = probe("--book", str(mini), "--format", "html")
    assert verdict == "BUILT"
    assert "warning:" in first_err  # the book's warning, said again by the no-op
    out, err, verdict = probe("--book", str(mini), "--format", "html")
    assert verdict == "NO-OP"
    assert (out, err) == (first_out, first_err)
    # another set of options is another build, which leaves this one's record as it is
    inline = ("--book", str(mini), "--format", "html", "--answers", "inline", "--out", str(mini / "inline"))
    assert probe(*inline)[2] == "BUILT"
    assert probe("--book", str(mini), "--format", "html")[2] == "NO-OP"
    assert probe(*inline)[2] == "NO-OP"
    # but a build that rewrites this one's outputs is a change to them
    assert probe("--book", str(mini), "--format", "html", "--answers", "inline")[2] == "BUILT"
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"


def test_an_edit_that_puts_the_mtime_back_is_still_seen(mini):
    assert run_cli("--book", str(mini), "--format", "html").returncode == 0
    bank = mini / "questions" / "stats.yaml"
    before = bank.stat()
    text = bank.read_text(encoding="utf-8")
    i = text.index("answer:")
    # the same size: one letter of an answer changed, and the old times put back
    j = next(k for k in range(i + 10, len(text)) if text[k].isalpha() and text[k] != "Z")
    bank.write_text(text[:j] + "Z" + text[j + 1:], encoding="utf-8")
    os.utime(bank, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = bank.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"
    assert probe("--book", str(mini), "--format", "html")[2] == "NO-OP"


def test_a_new_file_a_removed_output_or_a_forged_record_means_a_build(mini):
    assert run_cli("--book", str(mini), "--format", "html").returncode == 0
    assert probe("--book", str(mini), "--format", "html")[2] == "NO-OP"
    (mini / "templates").mkdir()
    (mini / "templates" / "notes.txt").write_text("a file added to templates/\n")
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"
    page = mini / "dist" / "release" / "html" / "index.html"
    page.unlink()
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"
    assert page.is_file()
    # a record that came with the book (not signed with this user's key) is not believed
    record, = (mini / ".bookbuild-cache" / "builds").iterdir()
    signature, _, body = record.read_text(encoding="utf-8").partition("\n")
    record.write_text("0" * len(signature) + "\n" + body, encoding="utf-8")
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"
    json.loads(record.read_text(encoding="utf-8").partition("\n")[2])  # made again, whole


def test_a_failed_build_is_not_recorded(mini):
    assert run_cli("--book", str(mini), "--format", "html").returncode == 0
    yaml = mini / "book" / "book.yaml"
    good = yaml.read_text(encoding="utf-8")
    yaml.write_text(good + "\nnot: [closed\n", encoding="utf-8")
    assert run_cli("--book", str(mini), "--format", "html").returncode == 1
    yaml.write_text(good, encoding="utf-8")  # back as it was, but a build is owed: the last one failed
    assert probe("--book", str(mini), "--format", "html")[2] == "BUILT"
