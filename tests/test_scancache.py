"""What check finds in each text, kept from one build to the next (bookbuild/scancache.py): the
same findings, at the same places, as scanning the text again."""

from __future__ import annotations

from conftest import ROOT, run_cli

from bookbuild.errors import Pos
from bookbuild.load import load_book
from bookbuild.markdown import scan
from bookbuild.scancache import Scans


class Store(dict):
    def get(self, key):  # the cache's get: None when absent
        return super().get(key)

    def put(self, key, text):
        self[key] = text


def texts():
    """Every text of the sample book check scans, with where it starts, and texts with findings."""
    book, _ = load_book(ROOT)
    for topic in book.topics.values():
        for q in topic.questions:
            for field, text in q.texts():
                yield text.value, text.pos, field
    for chapter in book.chapters:
        yield chapter.text, chapter.pos, None
    yield "See @q:x and ![](../x.png), [a](#b), <b>raw</b>\n\n$x^{$ and\n\n```\nnever closed", Pos("f.md", 7, 5), "answer"
    yield "A [link][ref] and\n\n[ref]: img.png\n\n# Heading {#sec:h}\n", Pos("g.md", 40, 7), None


def test_a_kept_scan_is_the_scan_at_its_place():
    store = Store()
    cold, warm = Scans(store), None
    expected = []
    for text, pos, field in texts():
        starts = field not in ("hint", "reason")
        direct = scan(text, pos, in_field=field, starts_block=starts)
        assert cold.get(text, pos, in_field=field, starts_block=starts) == direct
        expected.append((text, pos, field, starts, direct))
    cold.save()
    assert len(store) == 1
    warm = Scans(store)
    assert warm.known
    for text, pos, field, starts, direct in expected:
        # the same text elsewhere (another file, line and column) is moved there
        assert warm.get(text, pos, in_field=field, starts_block=starts) == direct
        moved = Pos("elsewhere.yaml", pos.line + 100, pos.col + 2)
        assert warm.get(text, moved, in_field=field, starts_block=starts) == scan(
            text, moved, in_field=field, starts_block=starts)
    assert not warm.new
    assert any(direct.problems for *_, direct in expected)  # findings were compared, not only empty scans


def test_a_build_says_the_same_problems_with_its_scans_kept(mini):
    bank = mini / "questions" / "stats.yaml"
    bank.write_text(bank.read_text(encoding="utf-8").replace(
        "When is the median", "See [nowhere](#nope). When is the median"), encoding="utf-8")
    first = run_cli("--book", str(mini), "--format", "html")
    assert first.returncode == 0 and "stats.yaml" in first.stderr and "warning:" in first.stderr
    assert any(p.name == "builds" for p in (mini / ".bookbuild-cache").iterdir())
    (mini / "dist").rename(mini / "dist-1")  # a build, not a no-op: its scans come from the cache
    second = run_cli("--book", str(mini), "--format", "html")
    assert (second.returncode, second.stderr) == (first.returncode, first.stderr)
