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


# ---- close misses: "did you mean" -----------------------------------------------------------------

DID_YOU_MEAN = {
    "question id in @q": (
        lambda r: edit(r, "book/chapters/intro.md", "See @q:mean-median", "See @q:mean-medain"),
        "book/chapters/intro.md:14:5: error: reference @q:mean-medain: no question has the id 'mean-medain'; "
        "did you mean 'mean-median'?"),
    "label in @sec": (
        lambda r: edit(r, "book/chapters/basics.md", "in @sec:intro.", "in @sec:intor."),
        "book/chapters/basics.md:3:42: error: reference @sec:intor: no section is labelled {#sec:intor}; "
        "did you mean '@sec:intro'?"),
    "question id in an interview round": (
        lambda r: edit(r, "questions/interviews.yaml", "[var-scale, coin-fair]", "[var-scale, coin-fiar]"),
        "questions/interviews.yaml:6:46: error: interview 'screen' names unknown question 'coin-fiar'; "
        "did you mean 'coin-fair'?"),
    "topic of a block": (
        lambda r: edit(r, "book/chapters/basics.md", 'topic="stats"', 'topic="stat"'),
        "book/chapters/basics.md:5:1: error: unknown topic 'stat'; topics are: stats; did you mean 'stats'?"),
    "interview of a block": (
        lambda r: edit(r, "book/chapters/basics.md", 'id="screen"', 'id="scren"'),
        "book/chapters/basics.md:10:1: error: unknown interview 'scren'; interviews are: screen; "
        "did you mean 'screen'?"),
    "chapter of an edition": (
        lambda r: edit(r, "book/book.yaml", "chapters: [basics.md], watermark", "chapters: [basic.md], watermark"),
        "book/book.yaml:14:3: error: edition 'draft' names chapter 'basic.md', which book.yaml does not list; "
        "did you mean 'basics.md'?"),
    "image of a close name": (
        lambda r: edit(r, "book/chapters/intro.md", "../images/dot.svg", "../images/dots.svg"),
        "book/chapters/intro.md:16:1: error: image '../images/dots.svg' not found; did you mean '../images/dot.svg'?"),
}


def test_block_tags_and_group_misspelt(mini):
    edit(mini, "book/chapters/basics.md", '{.questions topic="stats"}', '{.questions topic="stats" tags="descriptiv"}')
    assert "book/chapters/basics.md:5:1: warning: this questions block places no question of topic 'stats'; " \
           "did you mean 'descriptive'?" in diagnostics(mini, "release")
    edit(mini, "book/chapters/basics.md", 'tags="descriptiv"', 'group="Testin"')
    assert "book/chapters/basics.md:5:1: warning: this questions block places no question of topic 'stats'; " \
           "did you mean 'Testing'?" in diagnostics(mini, "release")


@pytest.mark.parametrize("case", list(DID_YOU_MEAN))
def test_close_misses_get_did_you_mean(mini, case):
    change, expected = DID_YOU_MEAN[case]
    change(mini)
    assert [d for d in diagnostics(mini) if ": error: " in d] == [expected]


def test_chapter_file_name_misspelt_is_one_error(mini):
    """book.yaml lists intro.md, the file is introduction.md: one error, not also "not listed", and
    no follow-on from the chapter not read (its labels, the topics its blocks place)."""
    (mini / "book/chapters/intro.md").rename(mini / "book/chapters/introduction.md")
    assert diagnostics(mini, "release") == [
        "book/book.yaml:9:16: error: chapter 'intro.md' is listed but book/chapters/intro.md does not exist; "
        "did you mean 'introduction.md'?"]
    (mini / "book/chapters/introduction.md").rename(mini / "book/chapters/intro.md")
    (mini / "book/chapters/basics.md").rename(mini / "book/chapters/basic.md")  # it places every block
    assert [d for d in diagnostics(mini, "release") if ": error: " in d] == [
        "book/book.yaml:11:16: error: chapter 'basics.md' is listed but book/chapters/basics.md does not exist; "
        "did you mean 'basic.md'?"]


def test_chapter_listed_with_its_folder(mini):
    edit(mini, "book/book.yaml", "chapters: [intro.md]", "chapters: [chapters/intro.md]")
    assert diagnostics(mini, "release") == [
        "book/book.yaml:9:16: error: chapter 'chapters/intro.md' must be a file name ending in .md inside "
        "book/chapters/; did you mean 'intro.md'?"]


@pytest.mark.parametrize("where, url, expected", [
    # chapters resolve image paths from their own folder
    ("book/chapters/intro.md", "images/dot.svg", "'images/dot.svg' not found; did you mean '../images/dot.svg'?"),
    ("book/chapters/intro.md", "dot.svg", "'dot.svg' not found; did you mean '../images/dot.svg'?"),
    ("book/chapters/intro.md", "../images/Dot.svg", "'../images/Dot.svg' not found; did you mean '../images/dot.svg'?"),
    # question text from questions/
    ("questions/stats.yaml", "../images/dot.svg", "'../images/dot.svg' not found; did you mean '../book/images/dot.svg'?"),
])
def test_missing_image_found_elsewhere_gets_the_path_to_write(mini, where, url, expected):
    if where == "book/chapters/intro.md":
        edit(mini, where, "../images/dot.svg", url)
    else:
        edit(mini, where, "      When is the median", f"      ![A dot.]({url}) When is the median")
    errors = [d for d in diagnostics(mini, "release") if ": error: " in d]
    assert len(errors) == 1 and errors[0].startswith(where) and errors[0].endswith(expected), errors


def test_missing_image_not_suggested_from_outputs_cache_or_hidden_folders(mini):
    edit(mini, "book/chapters/intro.md", "../images/dot.svg", "../images/plot.svg")
    for folder in ("dist/release/html/images", ".bookbuild-cache", ".git", "book/.drafts"):
        (mini / folder).mkdir(parents=True, exist_ok=True)
        (mini / folder / "plot.svg").write_text((mini / "book/images/dot.svg").read_text())
    assert [d for d in diagnostics(mini, "release") if ": error: " in d] == [
        "book/chapters/intro.md:16:1: error: image '../images/plot.svg' not found"]
    (mini / "book/figures").mkdir()
    (mini / "book/figures/plot.svg").write_text((mini / "book/images/dot.svg").read_text())
    assert [d for d in diagnostics(mini, "release") if ": error: " in d] == [
        "book/chapters/intro.md:16:1: error: image '../images/plot.svg' not found; did you mean '../figures/plot.svg'?"]


# ---- errors that only follow from a file that could not be read are left out, or say so -----------

def test_topic_file_with_a_yaml_error_brings_no_follow_on_errors(mini):
    # @q: references to its questions (in chapters and in another file's answers), interview rounds
    # naming them, the block placing its topic: all of them would be "unknown"
    edit(mini, "questions/stats.yaml", "    difficulty: easy\n", "    difficulty: [easy\n")
    assert [d for d in diagnostics(mini, "release") if ": error: " in d] == [
        "questions/stats.yaml:7:10: error: YAML syntax error: the list opened with '[' on line 6 is not closed: "
        "add ']', or quote text that starts with '['"]


def test_a_question_that_could_not_be_read_brings_no_follow_on_errors(mini):
    # the question is a list, not a mapping: the rest of its file is read, references to it
    # (an interview round here) are left out
    path = mini / "questions/stats.yaml"
    head, item = path.read_text().split("  - id: coin-fair\n")
    path.write_text(head + "  - - id: coin-fair\n" + "".join("  " + line for line in item.splitlines(True)))
    assert [d for d in diagnostics(mini, "release") if ": error: " in d] == [
        "questions/stats.yaml:23:5: error: a question must be a mapping of keys to values, not a list"]


def test_unknown_names_say_which_file_could_not_be_read(mini):
    # not UTF-8: its text cannot be looked at, so an unknown id says why it may be unknown
    path = mini / "questions/stats.yaml"
    path.write_bytes(path.read_bytes() + b"\xff\n")
    found = [d for d in diagnostics(mini, "release") if ": error: " in d]
    assert "book/chapters/intro.md:14:5: error: reference @q:mean-median: no question has the id 'mean-median' " \
           "(questions/stats.yaml could not be read)" in found, found
    assert "questions/interviews.yaml:5:38: error: interview 'screen' names unknown question 'mean-median' " \
           "(questions/stats.yaml could not be read)" in found, found
    assert not any("unknown topic" in d for d in found), found


def test_interviews_file_with_a_yaml_error_brings_no_unknown_interview(mini):
    edit(mini, "questions/interviews.yaml", "  - id: screen\n", "  - id: screen\n  bad: [\n")
    errors = [d for d in diagnostics(mini, "release") if ": error: " in d]
    assert len(errors) == 1 and errors[0].startswith("questions/interviews.yaml:3:"), errors


def test_labels_in_a_chapter_that_could_not_be_read(mini):
    path = mini / "book/chapters/intro.md"
    path.write_bytes(path.read_bytes() + b"\xff\n")
    found = [d for d in diagnostics(mini, "release") if ": error: " in d]
    assert "book/chapters/basics.md:3:42: error: reference @sec:intro: no section is labelled {#sec:intro} " \
           "(book/chapters/intro.md could not be read)" in found, found


def test_an_edition_that_is_not_a_mapping_is_one_error_not_also_no_edition(mini):
    edit(mini, "book/book.yaml", "  draft: {answers: inline, chapters: [basics.md], watermark: DRAFT}",
         "  draft: [inline]")
    assert diagnostics(mini, "draft") == [
        "book/book.yaml:14:10: error: edition 'draft' must be a mapping of keys to values, not a list"]


def test_a_misspelt_answer_key_is_one_error(mini):
    edit(mini, "questions/stats.yaml", "    answer: |\n      $$\\operatorname{Var}", "    anser: |\n      $$\\operatorname{Var}")
    found = [d for d in diagnostics(mini, "release")]
    assert len(found) == 1 and "unknown key 'anser' in a question; did you mean 'answer'?" in found[0], found


def test_flat_book_needs_parts_or_chapters_not_both(mini):
    edit(mini, "book/book.yaml", "parts:\n", "chapters: [intro.md, basics.md]\nparts:\n")
    assert diagnostics(mini) == ["book/book.yaml:8:1: error: book.yaml has both parts: and chapters:; keep one: "
                                 "parts: (chapters grouped under part titles) or chapters: (a book without parts)"]


def test_an_html_comment_is_an_authors_note_not_a_warning(mini):
    """A closed comment is removed from every output, silently: authors leave notes to themselves."""
    path = mini / "book" / "chapters" / "basics.md"
    path.write_text(path.read_text() + "\n<!-- TODO: a harder question -->\n\nText <!-- inline --> here.\n")
    assert diagnostics(mini, "release") == []


def test_slug_from_a_title_with_accents_keeps_its_letters():
    from bookbuild.load import slugify
    assert slugify("Über Lernen: Q&A") == "uber-lernen-q-a"
    assert slugify("機械学習") == "book"  # nothing to spell in ASCII: the default name


def test_print_section_isbn_and_profile_are_checked_where_written(mini):
    edit(mini, "book/book.yaml", "editions:\n", "print:\n  trim: 5x8\n  isbn: 978-1-4028-9462-7\n"
         "  icc_profile: ../../etc/profile.icc\n  paper: glossy\neditions:\n")
    assert diagnostics(mini, "release") == [
        "book/book.yaml:14:9: error: print: isbn '978-1-4028-9462-7' has a wrong check digit: 7, where the "
        "first twelve digits give 6",
        "book/book.yaml:15:16: error: print: icc_profile '../../etc/profile.icc' must be a file inside the book "
        "(a path relative to book/)",
        "book/book.yaml:16:10: error: paper 'glossy' is not one of white, cream"]


def test_a_print_section_makes_a_print_edition_with_the_releases_answers(mini):
    from bookbuild.load import load_book
    edit(mini, "book/book.yaml", "editions:\n", "print: {trim: a5, isbn: 9781402894626, blurb: A small book.}\n"
         "editions:\n")
    book, report = load_book(mini)
    assert not report.errors
    assert book.meta.print.trim == "a5" and book.meta.print.isbn == "9781402894626"
    assert book.meta.editions["print"].answers == book.meta.editions["release"].answers
