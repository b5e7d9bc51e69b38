"""The mailing-list draft edition: watermark, feedback, what changed, email excerpt."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tinycss2
from pypdf import PdfReader

from bookbuild.errors import BookError
from bookbuild.pipeline import BuildOptions, build, check
from conftest import EPOCH, ROOT, run_cli

DRAFT = ('draft: {answers: inline, chapters: [basics.md], watermark: DRAFT, '
         'feedback: "mailto:me@example.org?subject=Question%20{id}", url: "https://example.org/draft/"}')


@pytest.fixture
def draft_book(mini, monkeypatch) -> Path:
    yaml = mini / "book/book.yaml"
    yaml.write_text(re.sub(r"draft: \{.*\}", DRAFT, yaml.read_text()))
    (mini / ".gitignore").write_text("dist/\n.bookbuild-cache/\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=a@example.org", "-c", "user.name=A", "commit", "-qm", "v1"]):
        subprocess.run(["git", "-C", str(mini), *args], check=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return mini


def scripted_edit(root: Path) -> None:
    """Add a question, reword another, delete a third."""
    path = root / "questions/stats.yaml"
    text = path.read_text().replace("When is the median a better summary", "When, and why, is the median a better summary")
    text = text[:text.index("  - id: coin-fair")] + (
        "  - id: skew-sign\n    difficulty: easy\n    prompt: |\n      What does a positive skew say?\n"
        "    answer: |\n      The right tail is longer.\n")
    path.write_text(text)
    interviews = root / "questions/interviews.yaml"
    interviews.write_text(interviews.read_text().replace(", coin-fair]", "]"))


def mailed_label(root: Path, version: str = "1.2.3") -> str:
    """How the outputs name the draft recorded as mailed: 'draft 1.2.3 (abc1234, 2026-01-01), mailed 2026-…'."""
    record = json.loads((root / f"book/drafts/{version}.json").read_text())
    return f"draft {record['stamp']}, mailed {record['sent'][:10]}"


def change_lists(changes_md: str) -> dict[str, list[str]]:
    """changes.md's lists: {"Added": [ids], ...}."""
    lists, current = {}, None
    for line in changes_md.splitlines():
        if line.startswith("## "):
            current = lists.setdefault(line[3:], [])
        elif line.startswith("- ") and current is not None:
            qid = re.search(r"`([a-z0-9-]+)`", line)
            current.append(qid.group(1) if qid else line[2:])  # a question's id, or a chapter's title
    return lists


def pdf_pages(path: Path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(str(path)).pages]


def test_watermark_on_every_draft_page_and_none_in_release(draft_book):
    build(BuildOptions(root=draft_book, edition="draft"))
    build(BuildOptions(root=draft_book, formats=("pdf",)))
    pages = pdf_pages(draft_book / "dist/draft/mini-book.pdf")
    assert pages and all("DRAFT · 1.2.3" in p for p in pages)
    assert not any("DRAFT" in p for p in pdf_pages(draft_book / "dist/release/mini-book.pdf"))
    epub = zipfile.ZipFile(draft_book / "dist/draft/mini-book.epub")
    assert "DRAFT: 1.2.3" in epub.read("EPUB/text/title_page.xhtml").decode()


def test_version_stamp_names_the_commit(draft_book):
    commit = subprocess.run(["git", "-C", str(draft_book), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    assert f"1.2.3 ({commit}, 2026-01-01)" in (draft_book / "dist/draft/changes.md").read_text()


def test_feedback_links_and_chapter_notes(draft_book):
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    page = (draft_book / "dist/draft/html/sec-basics.html").read_text()
    assert 'href="mailto:me@example.org?subject=Question%20mean-median"' in page
    assert 'href="mailto:me@example.org?subject=Question%20chapter-basics"' in page
    assert "feedback-note" in page
    for html in (draft_book / "dist/draft/html").glob("*.html"):
        assert 'class="draft-banner"' in html.read_text() and "DRAFT · 1.2.3" in html.read_text(), html.name
    build(BuildOptions(root=draft_book, formats=("html",)))
    assert not any("draft-banner" in p.read_text() for p in (draft_book / "dist/release/html").glob("*.html"))


def test_scripted_edit_lists_exactly_three_changes_in_every_format(draft_book):
    build(BuildOptions(root=draft_book, edition="draft", mark_sent=True))
    since = mailed_label(draft_book)
    scripted_edit(draft_book)
    build(BuildOptions(root=draft_book, edition="draft"))
    out = draft_book / "dist/draft"
    changes = (out / "changes.md").read_text()
    assert f"Compared with {since}." in changes
    assert re.findall(r"`([a-z0-9-]+)`", changes) == ["skew-sign", "mean-median", "coin-fair"]
    assert "## Added" in changes and "## Reworded" in changes and "## Removed" in changes
    assert "Re-answered" not in changes
    html = (out / "html/draft-changes.html").read_text()
    with zipfile.ZipFile(out / "mini-book.epub") as z:
        epub = next(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml") and b'id="draft-changes"' in z.read(n))
    pdf = next(p for p in pdf_pages(out / "mini-book.pdf") if "Compared with" in p)
    for where, text, start in (("html", html, 'id="draft-changes"'), ("epub", epub, 'id="draft-changes"'),
                               ("pdf", pdf, "What changed")):
        section = text[text.index(start):]
        assert f"Compared with {since}" in section, where  # which draft the list is since
        for qid in ("skew-sign", "mean-median", "coin-fair"):
            assert qid in section, (where, qid)
        assert "var-scale" not in section, where
    email = (out / "email.txt").read_text()
    assert "skew-sign" in email and "mean-median" in email and "coin-fair" in email and "var-scale" not in email
    assert f"Changes since {since}." in email


def test_since_git_ref(draft_book):
    scripted_edit(draft_book)
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",), since="HEAD"))
    assert re.findall(r"`([a-z0-9-]+)`", (draft_book / "dist/draft/changes.md").read_text()) == \
        ["skew-sign", "mean-median", "coin-fair"]
    done = run_cli("--book", str(draft_book), "--edition", "draft", "--format", "html", "--since", "no-such-tag")
    assert done.returncode == 1 and "no-such-tag: no such commit, tag or branch" in done.stderr
    assert "Traceback" not in done.stderr


class _Email(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.links, self.styled = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "href" in a:
            self.links.append(a["href"])
        if "style" in a:
            self.styled += 1


def test_email_is_self_contained(draft_book):
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    html = (draft_book / "dist/draft/email.html").read_text()
    parser = _Email()
    parser.feed(html)
    names = [t for t, _ in parser.tags]
    assert "script" not in names and "style" not in names
    assert not [a for t, a in parser.tags if t == "link"]
    assert parser.styled > 5  # the styles are inline
    assert parser.links and all(re.match(r"^(https://|mailto:)", h) for h in parser.links), parser.links
    assert "https://example.org/draft/html/sec-basics.html" in parser.links
    assert (draft_book / "dist/draft/email.txt").read_text().startswith("Mini Book\nDraft 1.2.3")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_building_twice_before_mailing_never_says_nothing_changed(draft_book):
    """The bug: the second build compared with the first (never mailed) and said "Nothing changed"."""
    out = draft_book / "dist/draft"
    builds = []
    for _ in range(2):
        build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
        builds.append(((out / "changes.md").read_text(), _text((out / "html/draft-changes.html").read_text()),
                       (out / "email.txt").read_text(), _text((out / "email.html").read_text())))
    for n, texts in enumerate(builds, 1):
        for where, text in zip(("changes.md", "html", "email.txt", "email.html"), texts):
            assert "Nothing changed" not in text, (n, where, text)
    for changes, page, email_text, email_html in builds:
        assert "First draft: no earlier draft was marked as sent" in changes
        assert "This is the first draft: there is no earlier one to compare with." in page
        assert "This is the first draft: there is no earlier one to compare with." in email_text
        assert "This is the first draft: there is no earlier one to compare with." in email_html
        assert (out / "manifest.json").is_file()  # still written, for inspection
    assert not (draft_book / "book/drafts").exists()  # only --mark-sent records a draft in the book


def test_mark_sent_then_one_answer_edited_lists_exactly_that_question(draft_book):
    done = run_cli("--book", str(draft_book), "--edition", "draft", "--format", "html", "--mark-sent")
    assert done.returncode == 0, done.stderr
    record_file = draft_book / "book/drafts/1.2.3.json"
    assert f"{record_file}: draft 1.2.3 (" in done.stdout and "marked as sent" in done.stdout
    record = json.loads(record_file.read_text())
    assert record["version"] == "1.2.3" and record["edition"] == "draft" and record["stamp"].startswith("1.2.3 (")
    assert record["date"].startswith("2026-01-01") and record["sent"]
    assert set(record["questions"]) == {"mean-median", "var-scale", "coin-fair"} and set(record["chapters"]) == {"basics.md"}
    since = mailed_label(draft_book)
    assert re.fullmatch(r"draft 1\.2\.3 \([0-9a-f]{7,}\+?, 2026-01-01\), mailed \d{4}-\d\d-\d\d", since), since
    # the drafts' records are neither chapters nor sources: check still passes, the cache still serves
    book, report = check(draft_book)
    assert book is not None and not report.errors, report.sorted()

    # building again before any edit: nothing changed since the mailed draft, and it says which
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    assert "Nothing changed." in (draft_book / "dist/draft/changes.md").read_text()
    assert f"Nothing changed since {since}." in (draft_book / "dist/draft/email.txt").read_text()

    stats = draft_book / "questions/stats.yaml"
    stats.write_text(stats.read_text().replace("See also @q:mean-median.", "See also @q:mean-median; $a$ may be negative."))
    done = run_cli("--book", str(draft_book), "--edition", "draft", "--format", "html")
    assert done.returncode == 0, done.stderr
    out = draft_book / "dist/draft"
    changes = (out / "changes.md").read_text()
    assert change_lists(changes) == {"Re-answered": ["var-scale"]}, changes
    assert f"Compared with {since}." in changes and "Question 2.2 (`var-scale`)" in changes
    page = _text((out / "html/draft-changes.html").read_text())
    assert f"Compared with {since}." in page and "Re-answered Question 2.2 var-scale" in page
    for name in ("email.txt", "email.html"):
        text = _text((out / name).read_text())
        assert f"Changes since {since}." in text, name
        assert "var-scale" in text and not re.search(r"mean-median|coin-fair", text), name
    assert record_file.read_text() == json.dumps(record, indent=1, ensure_ascii=False) + "\n"  # a build without the flag leaves it


def test_mark_sent_twice_replaces_the_record_and_says_so(draft_book):
    first = run_cli("--book", str(draft_book), "--edition", "draft", "--format", "html", "--mark-sent")
    again = run_cli("--book", str(draft_book), "--edition", "draft", "--format", "html", "--mark-sent")
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert "(replaces the record" not in first.stdout
    assert re.search(r"book/drafts/1\.2\.3\.json: draft 1\.2\.3 .* marked as sent.*\(replaces the record of draft 1\.2\.3 ",
                     again.stdout), again.stdout
    assert "warning" not in again.stderr.replace("warning: reference @sec:intro", "")
    assert sorted(p.name for p in (draft_book / "book/drafts").iterdir()) == ["1.2.3.json"]


def test_mark_sent_outside_a_draft_edition_is_a_usage_error(draft_book):
    done = run_cli("--book", str(draft_book), "--mark-sent")  # the release edition: no watermark
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "--mark-sent records a draft as mailed, and edition 'release' is not a draft" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (draft_book / "book/drafts").exists() and not (draft_book / "dist/release").exists()


def _record(root: Path, version: str, sent: str, questions: dict) -> Path:
    path = root / f"book/drafts/{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": version, "edition": "draft", "stamp": f"{version} (abc1234, 2026-01-01)",
                                "date": "2026-01-01T00:00:00+00:00", "sent": sent, "chapters": {},
                                "questions": questions}))
    return path


def test_the_most_recently_sent_record_is_the_base_whatever_the_file_times(draft_book):
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",), mark_sent=True))
    questions = json.loads((draft_book / "book/drafts/1.2.3.json").read_text())["questions"]
    older = _record(draft_book, "1.2.1", "2026-03-01T09:00:00+00:00", {})
    newer = _record(draft_book, "1.2.2", "2027-03-02T09:00:00+00:00", {q: questions[q] for q in ("mean-median", "var-scale")})
    os.utime(newer, (1_000_000_000, 1_000_000_000))  # a checkout gives files any time: it must not matter
    os.utime(older, (2_000_000_000, 2_000_000_000))
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    changes = (draft_book / "dist/draft/changes.md").read_text()
    assert "Compared with draft 1.2.2 (abc1234, 2026-01-01), mailed 2027-03-02." in changes
    assert change_lists(changes) == {"Added": ["coin-fair"], "Chapters changed": ["Basics"]}
    # --since still compares with the book at a git commit, whatever was mailed
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",), since="HEAD"))
    assert "Compared with HEAD." in (draft_book / "dist/draft/changes.md").read_text()


def test_a_file_in_book_drafts_that_is_no_record_is_an_error(draft_book):
    (draft_book / "book/drafts").mkdir()
    (draft_book / "book/drafts/notes.json").write_text('{"stamp": 3}')
    with pytest.raises(BookError) as failed:
        build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    assert [str(d) for d in failed.value.report.errors] == [
        f"{draft_book}/book/drafts/notes.json:1:1: error: not a draft record: no \"stamp\" (the draft's version stamp)"]


def _declarations(tokens) -> dict[str, tuple]:
    """name → value of each declaration; a parse error fails the test."""
    found = {}
    for item in tokens:
        assert item.type != "error", item.message
        if item.type == "declaration":
            found[item.lower_name] = _value(item.value)
    return found


def _value(tokens) -> tuple:
    """A declaration's value, comparable however it is written: strings by their text, no blanks."""
    out = []
    for t in tokens:
        assert t.type != "error", t.message
        if t.type in ("whitespace", "comment"):
            continue
        if t.type == "string":
            out.append(("string", t.value))
        elif t.type == "function":
            out.append(("function", t.lower_name, _value(t.arguments)))
        else:
            out.append((t.type, tinycss2.serialize([t]).lower()))
    return tuple(out)


def expected_styles(css: str) -> list[tuple[str, tuple, int, dict]]:
    """(selector, specificity, order, declarations) of each simple selector (`tag` or `.class`) in `css`."""
    rules = []
    for order, rule in enumerate(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)):
        assert rule.type == "qualified-rule", rule
        for selector in tinycss2.serialize(rule.prelude).split(","):
            selector = selector.strip()
            assert re.fullmatch(r"\.?[a-z][a-z0-9-]*", selector), f"only simple selectors are matched here: {selector}"
            rules.append((selector, (1, 0) if selector.startswith(".") else (0, 1), order,
                          _declarations(tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                                      skip_whitespace=True))))
    return rules


class _Styled(HTMLParser):
    """Every element with its tag, classes and style attribute, as a browser reads them."""

    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, set((a.get("class") or "").split()), a.get("style")))


@pytest.mark.parametrize("override", [None, 'code { font-family: "O\'Neil Mono", "Noto Sans Mono", monospace; }\n'
                                            '.footer { background: url("https://example.org/a.png?x=1&copy=2"); }\n'])
def test_every_style_attribute_of_the_email_holds_each_declaration(draft_book, override):
    """The bug: `style="font-family: Georgia, &#34;color: ...` — the body's style ended at the font name."""
    css = (ROOT / "templates/email.css").read_text()
    if override:  # a book's own email.css, with a quote inside a font name and an '&' in a URL
        css += override
        (draft_book / "templates").mkdir()
        (draft_book / "templates/email.css").write_text(css)
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",), mark_sent=True))
    scripted_edit(draft_book)  # an email with every part: lists of changes, ids in code
    build(BuildOptions(root=draft_book, edition="draft", formats=("html",)))
    parser = _Styled()
    parser.feed((draft_book / "dist/draft/email.html").read_text())
    rules = expected_styles(css)
    checked = set()
    for tag, classes, style in parser.elements:
        if style is not None:
            assert '"' not in style, (tag, style)  # a stray quote: the attribute was cut or a string broken
            actual = _declarations(tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True))
        else:
            actual = {}
        expected = {}
        for selector, specificity, order, declarations in sorted(
                (r for r in rules if r[0] == tag or r[0][1:] in classes and r[0].startswith(".")),
                key=lambda r: (r[1], r[2])):
            expected.update(declarations)
            checked.add(selector)
        for name, value in expected.items():
            assert actual.get(name) == value, (tag, sorted(classes), name, value, style)
    assert {"body", "h1", "h2", ".stamp", "a", ".button", ".footer", "code"} <= checked
