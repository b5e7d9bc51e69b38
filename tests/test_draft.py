"""The mailing-list draft edition: watermark, feedback, what changed, email excerpt."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, run_cli

DRAFT = ('draft: {answers: inline, chapters: [basics.md], watermark: DRAFT, '
         'feedback: "mailto:me@example.org?subject=Question%20{id}", url: "https://example.org/draft/"}')


@pytest.fixture
def draft_book(mini) -> Path:
    yaml = mini / "book/book.yaml"
    yaml.write_text(re.sub(r"draft: \{.*\}", DRAFT, yaml.read_text()))
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=a@example.org", "-c", "user.name=A", "commit", "-qm", "v1"]):
        subprocess.run(["git", "-C", str(mini), *args], check=True)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
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
    build(BuildOptions(root=draft_book, edition="draft"))
    scripted_edit(draft_book)
    build(BuildOptions(root=draft_book, edition="draft"))
    out = draft_book / "dist/draft"
    changes = (out / "changes.md").read_text()
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
        for qid in ("skew-sign", "mean-median", "coin-fair"):
            assert qid in section, (where, qid)
        assert "var-scale" not in section, where
    email = (out / "email.txt").read_text()
    assert "skew-sign" in email and "mean-median" in email and "coin-fair" in email and "var-scale" not in email


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
