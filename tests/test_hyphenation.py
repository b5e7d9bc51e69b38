"""Titles and headings never hyphenate, in any format (issue 17: the title page read "Ques-tions");
body text may.

One test reads a narrow PDF as a reader does: a fixture book whose title, part, chapter, section
and group headings are long words, laid out at 6x9, where every one of those lines must break
between words. The other reads every stylesheet in templates/ and checks that whatever turns
hyphenation on leaves titles and headings at `hyphens: manual`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tinycss2
from pypdf import PdfReader

from conftest import ROOT, run_cli

TEMPLATES = ROOT / "templates"

TITLE = "Characterization Questions Concerning Internationalization"
PARTS = ["Internationalization Guide for Characterization Practitioners",
         "Questions Concerning Internationalization and Incomprehensibilities"]
CHAPTERS = {"intro.md": ("Introduction", "Introductory Characterization of Internationalization Considerations"),
            "basics.md": ("Basics", "Characterization Questions Concerning Incomprehensibilities")}
SECTIONS = {"intro.md": ("How to read", "Interpreting Internationalization Characterization Considerations"),
            "basics.md": ("Practice", "Practising Characterization Questions Concerning Internationalization")}
GROUPS = {"Basics": "Fundamental Characterization Incomprehensibilities", "Testing": "Hypothesis Testing Characterization"}
DEEP = "Incomprehensibilities of Internationalization Characterization"  # an h5 in the PDF (a chapter is its h2)
HEADINGS = [TITLE, *PARTS, *(t for _, t in CHAPTERS.values()), *(t for _, t in SECTIONS.values()), *GROUPS.values(), DEEP]
# the words a heading may not be split in: every long word of a title or heading
WORDS = {w.lower() for h in HEADINGS for w in re.findall(r"\w+", h) if len(w) >= 6}
HYPHENS = "-\u2010\u00ad"  # WeasyPrint hyphenates with U+2010; a soft hyphen may show as itself


def long_titled_book(root: Path) -> Path:
    """The mini fixture book with a long title and long headings (the words a hyphenator splits)."""
    book = root / "book" / "book.yaml"
    text = book.read_text(encoding="utf-8").replace("title: Mini Book", f"title: {TITLE}")
    text = text.replace("- title: Guide", f"- title: {PARTS[0]}").replace("- title: Questions", f"- title: {PARTS[1]}")
    book.write_text(text, encoding="utf-8")
    for name, (old, new) in CHAPTERS.items():
        path = root / "book" / "chapters" / name
        text = path.read_text(encoding="utf-8").replace(f"# {old} {{", f"# {new} {{", 1)
        old_section, new_section = SECTIONS[name]
        text = text.replace(f"## {old_section} {{", f"## {new_section} {{", 1)
        if name == "intro.md":
            text += f"\n#### {DEEP}\n\nA heading five levels down, under a long one.\n"
        path.write_text(text, encoding="utf-8")
    topic = root / "questions" / "stats.yaml"
    text = topic.read_text(encoding="utf-8")
    for old, new in GROUPS.items():
        text = text.replace(f"group: {old}\n", f"group: {new}\n")
    topic.write_text(text, encoding="utf-8")
    return root


def split_heading_words(reader: PdfReader) -> list[str]:
    """Every place where a line ends in a hyphen that cuts one of the headings' words in two."""
    found = []
    for number, page in enumerate(reader.pages, 1):
        lines = [line.strip() for line in page.extract_text().splitlines()]
        for line, following in zip(lines, lines[1:]):
            cut = re.search(rf"(\w+)[{HYPHENS}]$", line)
            rest = re.match(r"\w+", following)
            if cut and rest and (cut.group(1) + rest.group(0)).lower() in WORDS:
                found.append(f"page {number}: {line!r} / {following!r}")
    return found


def test_pdf_titles_and_headings_break_between_words(mini):
    root = long_titled_book(mini)
    done = run_cli("--book", str(root), "--format", "pdf", "--page-size", "6x9")
    assert done.returncode == 0, done.stderr
    (pdf,) = (root / "dist" / "release").glob("*.pdf")
    reader = PdfReader(str(pdf))
    assert split_heading_words(reader) == []
    # the title page: the title takes several lines at 6x9, and they are its words, whole
    lines = reader.pages[0].extract_text().splitlines()
    title_lines = lines[:lines.index("Test Author")]
    assert len(title_lines) >= 2, "the title fits one line: this book tests nothing"
    assert " ".join(" ".join(title_lines).split()) == TITLE
    # the contents and the openers show every heading (so each was looked at above)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for heading in HEADINGS:
        assert heading in text, heading


# --- the stylesheets ---

HEADING_ELEMENT = re.compile(r"^h[1-6]$")
# classes that carry a title or heading in some format: the title page, the contents, part and
# chapter openers, the answers' chapter titles, group and interview-round headings, sheet titles
TITLE_CLASS = re.compile(r"^(book-title|toc|toc-title|title|part|chapter|answers-chapter|front-matter|"
                         r"question-group|interview-round|round|chapter-number|part-number|section-number|site-title)$")


def rules(sheet: Path):
    """(selector text, {property: value}) for every style rule, inside @media too."""
    def walk(nodes):
        for node in nodes:
            if node.type == "qualified-rule":
                declarations = tinycss2.parse_declaration_list(
                    node.content, skip_whitespace=True, skip_comments=True)
                props = {d.lower_name: tinycss2.serialize(d.value).strip().lower()
                         for d in declarations if d.type == "declaration"}
                yield tinycss2.serialize(node.prelude).strip(), props
            elif node.type == "at-rule" and node.lower_at_keyword in ("media", "supports", "layer") and node.content:
                yield from walk(tinycss2.parse_rule_list(node.content, skip_whitespace=True, skip_comments=True))
    yield from walk(tinycss2.parse_stylesheet(sheet.read_text(encoding="utf-8"), skip_whitespace=True,
                                              skip_comments=True))


def subjects(selector: str) -> list[str]:
    """The last compound selector of each selector in a list: what the rule styles."""
    return [re.split(r"\s*[\s>+~]\s*", part.strip())[-1] for part in selector.split(",") if part.strip()]


def is_title(compound: str) -> bool:
    element = re.match(r"^[a-zA-Z][a-zA-Z0-9]*", compound)
    classes = re.findall(r"\.([\w-]+)", compound)
    return bool(element and HEADING_ELEMENT.match(element.group(0).lower())) or any(TITLE_CLASS.match(c) for c in classes)


def hyphenation_of(sheet: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """What turns hyphenation on (selectors whose rule says `hyphens: auto`), and what each
    title or heading selector says about it, rule by rule."""
    turned_on, headings = [], []
    for selector, props in rules(sheet):
        if props.get("hyphens") == "auto":
            turned_on.append(selector)
        for compound in subjects(selector):
            if is_title(compound) and "hyphens" in props:
                headings.append((compound, props["hyphens"]))
    return turned_on, headings


def test_the_classifier_sees_the_titles():
    assert is_title("h1") and is_title("h5") and is_title("h2.chapter") and is_title(".book-title")
    assert is_title(".toc") and is_title(".toc-title") and is_title("h3.question-group")
    assert not is_title("p") and not is_title(".answer") and not is_title("html") and not is_title(".hint")
    assert subjects(".toc > ul > li > a, h1.part") == ["a", "h1.part"]


ALL_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
# the title and heading selectors that must say `manual` where hyphenation may be on: in the PDF the
# book turns it on for the body; in the EPUB the reading system may (many hyphenate by default)
REQUIRED = {
    "pdf.css": [*ALL_HEADINGS, ".book-title", ".toc", ".toc-title"],
    "epub.css": ALL_HEADINGS,
}


@pytest.mark.parametrize("sheet", sorted(p.name for p in TEMPLATES.glob("*.css")))
def test_stylesheets_never_hyphenate_titles_or_headings(sheet):
    turned_on, headings = hyphenation_of(TEMPLATES / sheet)
    # nothing gives a title or heading hyphenation itself
    assert [(c, v) for c, v in headings if v not in ("manual", "none")] == [], sheet
    assert not [s for s in turned_on if any(is_title(c) for c in subjects(s))], sheet
    if turned_on or sheet in REQUIRED:
        # hyphenation is on (it is inherited, from the root here): every title and heading turns it off
        manual = {c for c, v in headings if v == "manual"}
        missing = [c for c in REQUIRED.get(sheet, ALL_HEADINGS) if c not in manual]
        assert missing == [], f"{sheet} (hyphens: auto on {turned_on}) leaves these titles hyphenating: {missing}"
