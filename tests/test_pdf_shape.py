"""The PDF of a book with front matter, part introductions and appendices (issue 18.1).

The front matter (title page, copyright, contents, front chapters) is numbered i, ii, … (the title
page and blank versos print no folio but count), padded to an even count; the main matter starts
again at 1 on a right-hand page. /PageLabels say so to viewers, and every printed page number (the
contents, "(p. v)" after a reference, the answers' "Question A.1 (p. 13)", pagemap.json and a
sheet's key) is the printed label. Built from tests/fixtures/shaped, its preface and first appendix
made longer here so that each runs over a page (running heads on their second pages).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import FIXTURES, run_cli

SLUG = "shaped-book"
FILLER = "\n\n".join(
    f"Paragraph {n} of the longer text: it runs on so that the chapter takes more than one page, "
    "and its second page carries a running head with the chapter's title. " * 3 for n in range(1, 13))
ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
# the margins' text: the folio at the foot, the running head at the top (pt from the page's edge)
MARGIN = 55


@pytest.fixture(scope="module")
def shaped(tmp_path_factory) -> dict:
    """The fixture book (copied, two chapters made longer) built once: the release into the
    book's own dist/ (for sheet keys) and the draft, each laid out in pieces and in one piece."""
    tmp = tmp_path_factory.mktemp("pdf-shape")
    root = tmp / "shaped"
    shutil.copytree(FIXTURES / "shaped", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    for name in ("preface.md", "interviewers.md"):
        path = root / "book" / "chapters" / name
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + FILLER + "\n", encoding="utf-8")
    out = {"root": root}
    for edition, folder, serial in (("release", root / "dist", False), ("release", tmp / "serial", True),
                                    ("draft", tmp / "draft", False), ("draft", tmp / "draft-serial", True)):
        done = run_cli("--book", str(root), "--edition", edition, "--format", "pdf", "--out", str(folder),
                       env={"BOOKBUILD_PDF_SERIAL": "1"} if serial else None)
        assert done.returncode == 0, done.stderr
        out[edition + ("-serial" if serial else "")] = folder / edition / f"{SLUG}.pdf"
    return out


def _margins(page) -> tuple[str, str]:
    """The running head and the folio a page prints."""
    height = float(page.mediabox.height)
    head, foot = [], []

    def visit(text, cm, tm, font, size):
        if not text.strip():
            return
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        if y < MARGIN:
            foot.append(text.strip())
        elif y > height - MARGIN:
            head.append(text.strip())
    page.extract_text(visitor_text=visit)
    return " ".join(" ".join(head).split()), " ".join(" ".join(foot).split())


def view(path: Path) -> dict:
    """What a reader sees: each page's text, head and folio, the page labels, the outline (depth,
    title, label of its page), the named destinations (page index) and the internal links."""
    from outputs import pdf_links
    reader = PdfReader(str(path))
    labels = list(reader.page_labels)
    outline = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                outline.append((depth, " ".join(item.title.split()), labels[reader.get_destination_page_number(item)]))
    walk(reader.outline, 0)
    links = pdf_links(path)
    margins = [_margins(page) for page in reader.pages]
    raw = [page.extract_text() for page in reader.pages]
    return {"text": [" ".join(text.split()) for text in raw], "lines": [text.splitlines() for text in raw],
            "heads": [head for head, _ in margins], "folios": [folio for _, folio in margins],
            "labels": labels, "outline": outline,
            "dests": {k: v for k, v in links.dests.items() if not k.startswith("bookbuild-")},
            "links": sorted(set(links.links))}


@pytest.fixture(scope="module")
def views(shaped) -> dict:
    return {name: view(path) for name, path in shaped.items() if name != "root"}


def _main_start(v: dict) -> int:
    """The index of the main matter's first page (labelled 1)."""
    assert "1" in v["labels"], v["labels"]
    return v["labels"].index("1")


def contents(v: dict) -> dict[str, str]:
    """The contents' lines, 'Title ..... v', title → printed number (roman or decimal)."""
    entries = {}
    for lines in v["lines"][:_main_start(v)]:
        for line in lines:
            m = re.match(r"^(.*?)[\s.]*?\.{3,}\s*(\d+|[ivxlc]+)$", line.strip())
            if m:
                entries[" ".join(m.group(1).split())] = m.group(2)
    return entries


def blank(v: dict, index: int) -> bool:
    """Whether a page shows nothing but a draft's watermark."""
    return not re.sub(r"DRAFT · \S+ \([^)]*\)", "", v["text"][index]).strip()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["release", "draft"])
def test_page_labels_are_the_printed_folios(views, name):
    v = views[name]
    labels, folios = v["labels"], v["folios"]
    front = _main_start(v)
    # roman for the front matter, padded to an even count; decimal from 1 after it
    assert front > 0 and front % 2 == 0, labels
    assert labels[:front] == ROMAN[:front]
    assert labels[front:] == [str(n) for n in range(1, len(labels) - front + 1)]
    # every page prints its label, but the title page and the blank pages, which print none
    for index, (label, folio, text) in enumerate(zip(labels, folios, v["text"])):
        if index == 0 or blank(v, index):
            assert folio == "", (index, label, folio)
        else:
            assert folio == label, (index, label, folio, text[:80])
    assert "Contents" in v["text"][2] and folios[1:3] == ["ii", "iii"]  # copyright, contents
    # the main matter starts on a right-hand page, with the first part opener
    first_part = "Part I Guide" if name == "release" else "Part II Questions"
    assert next(label for _, title, label in v["outline"] if title == first_part) == "1"
    assert first_part in v["text"][front]
    assert next(label for _, title, label in v["outline"] if title == "Preface") == ("v" if name == "release" else "vii")


@pytest.mark.slow
def test_contents_numbers_are_their_targets_labels(views):
    v = views["release"]
    toc = contents(v)
    outline = {title: label for _, title, label in v["outline"]}
    assert list(toc) == [title for _, title, _ in v["outline"] if title not in ("Conventions", "1.1 How to read",
                                                                              "2.1 Practice", "A.1 Choosing questions")]
    for title, number in toc.items():
        assert number == outline[title], (title, number, outline[title])
    assert toc["Preface"] == "v" and toc["Acknowledgments"] == "vii" and toc["Part I Guide"] == "1"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["release", "draft"])
def test_page_references_print_their_targets_labels(views, name):
    """On every page but the contents, the "(p. N)" printed are the labels of the pages the page's
    links go to."""
    v = views[name]
    contents_page = v["labels"].index("iii")
    label_of = {dest: v["labels"][page] for dest, page in v["dests"].items()}
    checked = 0
    for index, text in enumerate(v["text"]):
        if index == contents_page:
            continue
        printed = set(re.findall(r"\(p\. (\d+|[ivxlc]+)\)", text))
        targets = {label_of[dest] for page, dest in v["links"] if page == index and dest in label_of}
        assert printed == targets, (index, printed, targets, text[:120])
        checked += len(printed)
    assert checked >= 3
    if name == "release":
        # a reference into the front matter prints its roman number
        assert "Preface (p. v)" in v["text"][v["labels"].index("vii")]  # from the acknowledgments
        intro = next(label for _, t, label in v["outline"] if t == "About the questions")
        assert "Preface (p. v)" in v["text"][v["labels"].index(intro)]
        answers = v["text"][v["labels"].index(next(label for _, t, label in v["outline"]
                                                   if t == "Appendix A: For interviewers"))]
        question = next(label for _, t, label in v["outline"] if t == "A For interviewers")
        assert f"Question A.1 (p. {question})" in answers


@pytest.mark.slow
def test_outline_titles_and_nesting(views):
    release = [(depth, title) for depth, title, _ in views["release"]["outline"]]
    assert release == [
        (0, "Preface"), (1, "Conventions"), (0, "Acknowledgments"),
        (0, "Part I Guide"), (1, "1 Introduction"), (2, "1.1 How to read"),
        (0, "Part II Questions"), (1, "About the questions"), (1, "2 Basics"), (2, "2.1 Practice"),
        (0, "Appendices"), (1, "A For interviewers"), (2, "A.1 Choosing questions"), (1, "B Reference tables"),
        (0, "Answers"), (1, "Chapter 2: Basics"), (1, "Appendix A: For interviewers")]
    draft = [(depth, title) for depth, title, _ in views["draft"]["outline"]]
    assert draft[:4] == [(0, "What changed since the last draft"), (0, "Preface"), (1, "Conventions"),
                         (0, "Part II Questions")]
    # the part's introduction follows its opener, before the part's first chapter
    pages = {title: int(label) for _, title, label in views["release"]["outline"] if label.isdigit()}
    assert pages["Part II Questions"] < pages["About the questions"] < pages["2 Basics"]


@pytest.mark.slow
def test_pagemap_values_are_the_labels_of_the_questions_pages(shaped, views):
    v = views["release"]
    pagemap = json.loads((shaped["release"].parent / "pagemap.json").read_text())
    assert set(pagemap) == {"mean-median", "var-scale", "coin-fair", "loop-length", "loop-calibration"}
    for qid, page in pagemap.items():
        assert isinstance(page, int)
        assert str(page) == v["labels"][v["dests"][f"q-{qid}"]], qid
        assert f"{page}" in v["folios"][v["dests"][f"q-{qid}"]]
    draft = json.loads((shaped["draft"].parent / "pagemap.json").read_text())
    for qid, page in draft.items():
        assert str(page) == views["draft"]["labels"][views["draft"]["dests"][f"q-{qid}"]], qid


@pytest.mark.slow
def test_running_heads(views):
    v = views["release"]
    by_label = dict(zip(v["labels"], range(len(v["labels"]))))
    # a front chapter: none on its first page, its title on the next
    assert v["heads"][by_label["v"]] == "" and v["heads"][by_label["vi"]] == "Preface"
    # no running head on the title page, the copyright page and the contents
    assert v["heads"][:3] == ["", "", ""]
    # an appendix: its letter as a chapter shows its number
    appendix = next(int(label) for _, title, label in v["outline"] if title == "A For interviewers")
    assert v["heads"][by_label[str(appendix)]] == ""
    assert v["heads"][by_label[str(appendix + 1)]] == "A For interviewers"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["release", "draft"])
def test_parallel_layout_matches_one_document(shaped, views, name):
    """Laid out in pieces on every core, the book reads, is numbered and looks as laid out in one."""
    assert views[name] == views[f"{name}-serial"]
    assert _pixels(shaped[name]) == _pixels(shaped[f"{name}-serial"])
    pagemaps = [(shaped[key].parent / "pagemap.json").read_text() for key in (name, f"{name}-serial")]
    assert pagemaps[0] == pagemaps[1]


def _pixels(pdf: Path) -> list[bytes]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), f"{folder}/p"], check=True)
        return [path.read_bytes() for path in sorted(Path(folder).glob("p-*.pgm"))]


@pytest.mark.slow
def test_a_rebuild_is_byte_identical(shaped, tmp_path):
    done = run_cli("--book", str(shaped["root"]), "--format", "pdf", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "release" / f"{SLUG}.pdf").read_bytes() == shaped["release"].read_bytes()


@pytest.mark.slow
def test_sheet_key_prints_the_label(shaped, views, tmp_path):
    v = views["release"]
    done = run_cli("sheet", "--book", str(shaped["root"]), "--count", "5", "--format", "pdf,html",
                   "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    key = next(tmp_path.glob("*-key.html")).read_text(encoding="utf-8")
    found = re.findall(r'<span class="book-number">Book ([0-9A-Z]+\.\d+)</span>.*?<span class="page">page (\w+)</span>',
                       key, re.S)
    qids = {"2.1": "mean-median", "2.2": "var-scale", "2.3": "coin-fair", "A.1": "loop-length", "A.2": "loop-calibration"}
    assert sorted(number for number, _ in found) == sorted(qids)
    for number, page in found:
        assert page == v["labels"][v["dests"][f"q-{qids[number]}"]], number
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(next(tmp_path.glob("*-key.pdf")))).pages)
    for number, page in found:
        assert re.search(rf"Book {re.escape(number)} \w+ page {page}\b", text), (number, page)
