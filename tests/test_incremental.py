"""Edits cost what they change, and never change what a build gives: after any sequence of edits,
every output of a build that reused the cache is, byte for byte, what a cold build of the same
sources gives; and the site's unchanged files are not rewritten (the new site holds them as
hard links to the old one's, with their inode and time)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import EPOCH

from bookbuild.cache import FOLDER
from bookbuild.pipeline import BuildOptions, build

pytestmark = pytest.mark.slow

SITE_PAGES = ("index.html", "part-1.html", "part-2.html", "sec-intro.html", "sec-basics.html", "answers.html",
              "answers-sec-basics.html")


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def inodes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*") if p.is_file()}


def build_all(root: Path) -> None:
    result = build(BuildOptions(root=root))
    assert not result.report.errors


def cold_outputs(root: Path, tmp: Path) -> dict[str, bytes]:
    """What a cold build of the book as it is now gives: built in the same place (paths are in
    some outputs), with the incremental build's cache and outputs set aside meanwhile."""
    aside = tmp / "aside"
    aside.mkdir()
    for name in (FOLDER, "dist"):
        os.rename(root / name, aside / name)
    try:
        build_all(root)
        return files(root / "dist")
    finally:
        for name in (FOLDER, "dist"):
            shutil.rmtree(root / name, ignore_errors=True)
            os.rename(aside / name, root / name)
        aside.rmdir()


class Edits:
    """Edits an author makes, on the mini book's question bank and chapters."""

    def __init__(self, root: Path, rng: random.Random):
        self.root, self.rng, self.n = root, rng, 0
        self.bank_path = root / "questions" / "stats.yaml"

    def _bank(self) -> dict:
        return yaml.safe_load(self.bank_path.read_text(encoding="utf-8"))

    def _save(self, bank: dict) -> None:
        self.bank_path.write_text(yaml.safe_dump(bank, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def reword(self) -> str:
        bank = self._bank()
        question = self.rng.choice(bank["questions"])
        self.n += 1
        question["answer"] = question["answer"].rstrip() + f" Reworded {self.n}.\n"
        self._save(bank)
        return f"Reworded {self.n}."

    def add(self) -> str:
        bank = self._bank()
        self.n += 1
        bank["questions"].insert(self.rng.randrange(len(bank["questions"]) + 1), {
            "id": f"added-{self.n}", "difficulty": self.rng.choice(["easy", "medium", "hard"]), "group": "Basics",
            "prompt": f"Added question {self.n}: what does a larger sample buy?\n",
            "answer": f"A smaller standard error, shrinking as one over the square root of n ({self.n}).\n"})
        self._save(bank)
        return f"Added question {self.n}"

    def remove(self) -> str:
        bank = self._bank()
        added = [q for q in bank["questions"] if q["id"].startswith("added-")]
        if not added:
            return self.add()
        gone = self.rng.choice(added)
        bank["questions"].remove(gone)
        self._save(bank)
        return gone["id"]

    def move(self) -> str:
        bank = self._bank()
        questions = bank["questions"]
        i = self.rng.randrange(len(questions))
        moved = questions.pop(i)
        questions.insert((i + 1 + self.rng.randrange(len(questions))) % (len(questions) + 1), moved)
        self._save(bank)
        return moved["id"]

    def title(self) -> str:
        chapter = self.root / "book" / "chapters" / "basics.md"
        lines = chapter.read_text(encoding="utf-8").split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith("# "))
        self.n += 1
        heading, brace, attrs = lines[at].partition(" {")
        lines[at] = f"{heading.rstrip()} {self.n}" + (f" {{{attrs}" if brace else "")
        chapter.write_text("\n".join(lines), encoding="utf-8")
        return f"{heading[2:].strip()} {self.n}"


@pytest.mark.parametrize("seed", [1])
def test_random_edits_give_what_a_cold_build_gives(mini, tmp_path, monkeypatch, seed):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    rng = random.Random(seed)
    edits = Edits(mini, rng)
    build_all(mini)
    site = mini / "dist" / "release" / "html"
    kinds = ["reword", "add", "move", "title", "remove", "reword"]
    rng.shuffle(kinds)
    for kind in kinds:
        before = inodes(site)
        words = getattr(edits, kind)()
        build_all(mini)
        after = inodes(site)
        rewritten = {name for name in after if before.get(name) != after[name]}
        incremental = files(mini / "dist")
        assert incremental == cold_outputs(mini, tmp_path), f"after {kind} ({words})"
        if kind == "title":  # the sidebar of every page shows it
            assert set(SITE_PAGES) <= rewritten, (kind, rewritten)
            assert words in incremental["release/html/sec-basics.html"].decode()
        elif kind == "reword":  # the answers page and the chapter's quiz script (the search index has no answers)
            assert {"answers-sec-basics.html", "quiz-sec-basics.js"} <= rewritten, rewritten
            assert not {"index.html", "part-1.html", "sec-intro.html", "sec-basics.html", "search-index.js",
                        "book.css", "site.js",
                        "_assets/book/images/dot.svg"} & rewritten, (kind, rewritten)
        else:  # numbers moved: the chapter and its answers, never the guide chapter or the stylesheet
            assert {"sec-basics.html", "answers-sec-basics.html"} <= rewritten, (kind, rewritten)
            assert not {"book.css", "site.js"} & rewritten, (kind, rewritten)
    # and a build with nothing changed rewrites nothing
    before = inodes(site)
    build_all(mini)
    assert inodes(site) == before


def test_pdf_pieces_kept_give_what_pandoc_gives_the_whole_book():
    """The PDF's HTML with unchanged pieces from the cache is pandoc's HTML of the whole book,
    code blocks included (pandoc numbers them across the book: a piece with one is never cut)."""
    import panflute as pf

    from bookbuild.builders.base import dump
    from bookbuild.builders.pdf_layout import CHUNK_MARK
    from bookbuild.builders.pdf_pieces import Pieces
    from bookbuild.pandoc import run_pandoc

    class Store(dict):
        def put(self, key, text):
            self[key] = text

    def book(words: str) -> str:
        mark = pf.RawBlock(CHUNK_MARK, format="html")
        blocks = [pf.Header(pf.Str("Part"), level=1, identifier="part-1")]
        for n in range(1, 6):
            blocks += [mark, pf.Header(pf.Str(f"Chapter {n}"), level=2, identifier=f"ch-{n}"),
                       pf.Para(pf.Str(words if n == 3 else f"Text{n}"), pf.Space(), pf.Span(identifier=f"s-{n}"))]
            if n in (2, 4):
                blocks.append(pf.CodeBlock("x = 1\ny = 2", classes=["python"]))
        return dump(pf.Doc(*blocks))

    args = ["-f", "json", "-t", "html5", "--standalone", "--toc", "--wrap=none", "-M", "title=T"]
    store = Store()
    first = book("Before")
    cold = Pieces(first, store, "test")
    assert cold.put_back(run_pandoc(args, cold.payload(first))) == run_pandoc(args, first)
    edited = book("After")
    warm = Pieces(edited, store, "test")
    assert [k is not None for k in warm.known] == [False, True, False, False, False, False]
    assert len(warm.payload(edited)) < len(edited)
    html = warm.put_back(run_pandoc(args, warm.payload(edited)))
    assert html == run_pandoc(args, edited) and "After" in html and 'id="cb2"' in html
