"""`check`: every kind of error, each on a small broken copy of the fixture book, with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookbuild.pipeline import check
from conftest import run_cli


def diagnostics(root: Path, edition: str | None = None) -> list[str]:
    _, report = check(root, edition)
    return [f"{Path(d.pos.path).relative_to(root)}:{d.pos.line}:{d.pos.col}: {d.severity}: {d.message}"
            for d in report.sorted()]


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def test_fixture_is_clean(mini):
    assert diagnostics(mini, "release") == []


CASES = {
    "yaml syntax": (
        lambda r: edit(r, "questions/stats.yaml", "    difficulty: easy\n", "    difficulty: [easy\n"),
        "questions/stats.yaml:7:", "error: YAML syntax error"),
    "unknown key": (
        lambda r: edit(r, "questions/stats.yaml", "    hint: Think of outliers.", "    hnit: Think of outliers."),
        "questions/stats.yaml:10:5: error: unknown key 'hnit' in a question", ""),
    "missing key": (
        lambda r: edit(r, "questions/stats.yaml", "    difficulty: medium\n", ""),
        "questions/stats.yaml:15:5: error: a question is missing the required key 'difficulty'", ""),
    "bad difficulty": (
        lambda r: edit(r, "questions/stats.yaml", "difficulty: hard", "difficulty: tricky"),
        "questions/stats.yaml:24:17: error: difficulty 'tricky' is not one of easy, medium, hard", ""),
    "duplicate id across files": (
        lambda r: (r / "questions/more.yaml").write_text(
            "title: More\nquestions:\n  - id: var-scale\n    difficulty: easy\n    prompt: Again?\n    answer: Yes.\n"),
        "questions/stats.yaml:15:5: error: duplicate question id 'var-scale' (also at", ""),
    "missing answer": (
        lambda r: edit(r, "questions/stats.yaml", "    answer: |\n      $$\\operatorname{Var}(aX) = a^2 \\operatorname{Var}(X)$$\n      See also @q:mean-median.\n", ""),
        "questions/stats.yaml:15:5: error: question 'var-scale' has no answer (the release, draft edition prints answers)", ""),
    "unresolved @q": (
        lambda r: edit(r, "book/chapters/intro.md", "See @q:mean-median", "See @q:mean-medain"),
        "book/chapters/intro.md:14:5: error: reference @q:mean-medain: no question has the id 'mean-medain'", ""),
    "unresolved @sec": (
        lambda r: edit(r, "book/chapters/basics.md", "in @sec:intro.", "in @sec:intor."),
        "book/chapters/basics.md:3:42: error: reference @sec:intor: no section is labelled {#sec:intor}", ""),
    "unresolved @fig": (
        lambda r: edit(r, "book/chapters/intro.md", "a figure (@fig:dot)", "a figure (@fig:dots)"),
        "book/chapters/intro.md:3:30: error: reference @fig:dots: no figure is labelled {#fig:dots}", ""),
    "unresolved @tbl": (
        lambda r: edit(r, "book/chapters/intro.md", "a table (@tbl:sizes)", "a table (@tbl:size)"),
        "book/chapters/intro.md:3:50: error: reference @tbl:size: no table is labelled {#tbl:size}", ""),
    "reference in an answer": (
        lambda r: edit(r, "questions/stats.yaml", "See also @q:mean-median.", "See also @q:nope."),
        "questions/stats.yaml:22:16: error: reference @q:nope: no question has the id 'nope'", ""),
    "interview names unknown question": (
        lambda r: edit(r, "questions/interviews.yaml", "[var-scale, coin-fair]", "[var-scale, coin-unfair]"),
        "questions/interviews.yaml:6:46: error: interview 'screen' names unknown question 'coin-unfair'", ""),
    "chapter listed but missing": (
        lambda r: edit(r, "book/book.yaml", "chapters: [intro.md]", "chapters: [intro.md, extra.md]"),
        "book/book.yaml:9:26: error: chapter 'extra.md' is listed but book/chapters/extra.md does not exist", ""),
    "chapter present but unlisted": (
        lambda r: (r / "book/chapters/stray.md").write_text("# Stray\n"),
        "book/chapters/stray.md:1:1: error: chapter file stray.md is not listed in book/book.yaml parts", ""),
    "image missing": (
        lambda r: edit(r, "book/chapters/intro.md", "../images/dot.svg", "../images/dots.svg"),
        "book/chapters/intro.md:16:1: error: image '../images/dots.svg' not found", ""),
    "topic never placed": (
        lambda r: (r / "questions/extra.yaml").write_text(
            "title: Extra\nquestions:\n  - id: lonely\n    difficulty: easy\n    prompt: Hi?\n    answer: Yes.\n"),
        "questions/extra.yaml:1:1: error: topic 'extra' is never placed", ""),
    "question placed twice": (
        lambda r: edit(r, "book/chapters/basics.md", "## Practice", '::: {.questions topic="stats" difficulty="hard"}\n:::\n\n## Practice'),
        "book/chapters/basics.md:8:1: error: question 'coin-fair' is placed twice: here and by the block at", ""),
    "question placed by no block": (
        lambda r: edit(r, "book/chapters/basics.md", '{.questions topic="stats"}', '{.questions topic="stats" difficulty="easy,medium"}'),
        "questions/stats.yaml:23:5: error: question 'coin-fair' is placed by no questions block of topic 'stats'", ""),
    "colons in a field": (
        lambda r: edit(r, "questions/stats.yaml", "      When is the median", "      :::\n      When is the median"),
        "questions/stats.yaml:9:7: error: a line starting with ':::' in a question's prompt would end its block", ""),
    "raw HTML never closed in a field": (
        lambda r: edit(r, "questions/stats.yaml", "      When is the median", "      When is <the median"),
        "questions/stats.yaml:9:7: error: raw HTML '<the' opened here is never closed in this prompt", ""),
    "unknown interview": (
        lambda r: edit(r, "book/chapters/basics.md", 'id="screen"', 'id="onsite"'),
        "book/chapters/basics.md:10:1: error: unknown interview 'onsite'; interviews are: screen", ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_names_file_line_and_message(mini, case):
    change, expected, extra = CASES[case]
    change(mini)
    found = diagnostics(mini)
    assert any(line.startswith(expected) and extra in line for line in found), "\n".join(found)


def test_less_than_in_math_is_not_a_tag(mini):
    """pandoc reads `$y_{<t}$` as math: no raw HTML opened there."""
    edit(mini, "questions/stats.yaml", "What is $\\operatorname{Var}(aX)$?",
         "What is $\\operatorname{Var}(aX)$, and $p(y_t \\mid y_{<t})$ when $a<b$?\n"
         "      $$\n      p(y) = \\prod_t p(y_t \\mid y_{<t})\n      $$")
    assert diagnostics(mini, "release") == []


def test_a_group_split_in_the_bank_is_a_warning(mini):
    """A group resumed after another would print its heading twice."""
    path = mini / "questions/stats.yaml"
    path.write_text(path.read_text() + "  - id: mode\n    difficulty: easy\n    group: Basics\n"
                    "    prompt: What is the mode?\n    answer: The most frequent value.\n")
    assert diagnostics(mini, "release") == [
        "questions/stats.yaml:34:5: warning: group 'Basics' resumes here after other questions: its heading "
        "would print again (it starts with question 'mean-median', line 5); keep a group's questions together"]


def test_every_problem_in_one_run(mini):
    edit(mini, "questions/stats.yaml", "difficulty: hard", "difficulty: tricky")
    edit(mini, "book/chapters/intro.md", "See @q:mean-median", "See @q:nope")
    (mini / "book/chapters/stray.md").write_text("# Stray\n")
    errors = [d for d in diagnostics(mini) if ": error: " in d]
    assert len(errors) == 3, errors


def test_missing_answer_is_a_warning_when_no_edition_prints_answers(mini):
    edit(mini, "questions/stats.yaml", "    answer: |\n      When the data are skewed or have outliers: the median moves "
         "little when one value\n      grows without bound, the mean moves without limit.\n", "")
    assert "questions/stats.yaml:5:5: error: question 'mean-median' has no answer" in "\n".join(diagnostics(mini))
    edit(mini, "book/book.yaml", "release: {answers: appendix}", "release: {answers: none}")
    edit(mini, "book/book.yaml", "draft: {answers: inline, chapters: [basics.md],", "draft: {answers: none,")
    assert diagnostics(mini) == ["questions/stats.yaml:5:5: warning: question 'mean-median' has no answer"]


def test_duplicate_yaml_key(mini):
    edit(mini, "questions/stats.yaml", "    tags: [descriptive]", "    tags: [descriptive]\n    tags: [again]")
    assert "questions/stats.yaml:15:5: error: duplicate key 'tags' (first at line 14)" in diagnostics(mini)


def test_check_cli_exit_codes(mini):
    ok = run_cli("check", "--book", str(mini))
    assert ok.returncode == 0, ok.stderr
    assert "3 questions" in ok.stdout
    edit(mini, "questions/stats.yaml", "difficulty: hard", "difficulty: tricky")
    bad = run_cli("check", "--book", str(mini))
    assert bad.returncode == 1
    assert "questions/stats.yaml:24:17: error: difficulty 'tricky'" in bad.stderr
    assert "Traceback" not in bad.stderr
    usage = run_cli("check", "--book", str(mini), "--no-such-option")
    assert usage.returncode == 2


def test_unknown_edition(mini):
    done = run_cli("check", "--book", str(mini), "--edition", "nope")
    assert done.returncode == 1
    assert "no edition named 'nope'" in done.stderr


def test_reference_out_of_a_chapter_subset_is_a_warning(mini):
    edit(mini, "book/chapters/basics.md", "the introduction is in @sec:intro.", "the introduction is in @sec:intro.")
    found = diagnostics(mini)
    assert found == ["book/chapters/basics.md:3:42: warning: reference @sec:intro points into intro.md, which the "
                     "'draft' edition leaves out: it reads \"(not in this draft)\" there"], found
    assert diagnostics(mini, "release") == []
