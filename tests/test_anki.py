"""Anki decks: the .apkg opened as Anki opens it (a zip of a SQLite collection and media)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import sqlite3
import time
import zipfile
from pathlib import Path

import genanki
import pytest

from bookbuild.anki import AnkiRequest, make_deck
from bookbuild.errors import BookError
from conftest import EPOCH, FIXTURES, run_cli

SEP = "\x1f"
FIELDS = ("Number", "Prompt", "Hint", "Flaw", "Answer", "Id")


def enrich(root: Path) -> None:
    """Give the mini book's first question an image, a footnote and a script; its second a table."""
    path = root / "questions/stats.yaml"
    text = path.read_text()
    text = text.replace(
        "      When is the median a better summary than the mean?\n",
        "      When is the median a better summary than the mean?[^1]\n\n"
        "      ![A dot](../book/images/dot.svg)\n\n"
        "      <script>alert('prompt')</script>\n\n"
        "      [^1]: Think of income data.\n")
    text = text.replace(
        "      See also @q:mean-median.\n",
        "      See also @q:mean-median.\n\n      | a | b |\n      |---|---|\n      | 1 | 2 |\n\n"
        "      <script>alert('answer')</script>\n")
    path.write_text(text)


@pytest.fixture
def book(mini) -> Path:
    enrich(mini)
    return mini


@pytest.fixture(autouse=True)
def reproducible_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def deck(root: Path, out: Path | None = None, **options) -> tuple[Path, list[str]]:
    result = make_deck(AnkiRequest(root=root, out=out, **options))
    assert len(result.outputs) == 1
    return result.outputs[0], [str(d) for d in result.report.warnings]


class Apkg:
    """What Anki reads from an .apkg: the collection's notes, cards, decks, note types, and media."""

    def __init__(self, path: Path, tmp: Path):
        with zipfile.ZipFile(path) as archive:
            self.names = archive.namelist()
            self.infos = archive.infolist()
            self.media_map = json.loads(archive.read("media"))
            self.media = {name: archive.read(index) for index, name in self.media_map.items()}
            db = tmp / f"collection-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}.anki2"
            db.write_bytes(archive.read("collection.anki2"))
        con = sqlite3.connect(db)
        try:
            self.notes = {}
            for guid, mid, mod, tags, flds in con.execute("SELECT guid, mid, mod, tags, flds FROM notes ORDER BY id"):
                fields = dict(zip(FIELDS, flds.split(SEP), strict=True))
                self.notes[fields["Id"]] = {"guid": guid, "mid": mid, "mod": mod, "tags": tags.split(), **fields}
            self.cards = con.execute("SELECT n.flds, c.did, c.due, c.mod FROM cards c JOIN notes n ON c.nid = n.id "
                                     "ORDER BY c.due").fetchall()
            decks_json, models_json = con.execute("SELECT decks, models FROM col").fetchone()
        finally:
            con.close()
        self.decks = {int(k): v["name"] for k, v in json.loads(decks_json).items() if v["name"] != "Default"}
        self.models = json.loads(models_json)

    def deck_of(self, qid: str) -> str:
        return next(self.decks[did] for flds, did, _, _ in self.cards if flds.split(SEP)[-1] == qid)


def test_one_note_per_question_with_the_books_words(book, tmp_path):
    path, warnings = deck(book)
    assert path == book / "dist" / "mini-book.apkg"
    assert any("<script>" in w for w in warnings)  # as the book's check says: removed, with a warning
    apkg = Apkg(path, tmp_path)
    assert apkg.names[0] == "collection.anki2" and "media" in apkg.names
    assert list(apkg.notes) == ["mean-median", "var-scale", "coin-fair"]  # book order, new cards too
    assert [flds.split(SEP)[-1] for flds, *_ in apkg.cards] == list(apkg.notes)

    mean, var, coin = apkg.notes.values()
    # front: the book number and the prompt; back: hint, flaw note, answer, as questions.md.j2 words them
    assert [mean["Number"], var["Number"], coin["Number"]] == ["2.1", "2.2", "2.3"]
    assert mean["Prompt"].startswith("<p>When is the median a better summary than the mean?")
    assert '<span class="footnote">Think of income data.</span>' in mean["Prompt"]
    assert mean["Hint"] == "<p><strong>Hint.</strong> Think of outliers.</p>"
    assert mean["Answer"].startswith("<p>When the data are skewed or have outliers")
    assert mean["Flaw"] == "" and var["Hint"] == "" and var["Flaw"] == ""
    assert var["Prompt"] == r'<p>What is <span class="math inline">\(\operatorname{Var}(aX)\)</span>?</p>'
    assert r'<span class="math display">\[\operatorname{Var}(aX) = a^2 \operatorname{Var}(X)\]</span>' in var["Answer"]
    assert "See also <span>Question 2.1</span>." in var["Answer"]  # the words, no link: the book is not in Anki
    assert "<table>" in var["Answer"] and "<a " not in var["Answer"]
    assert coin["Flaw"] == ("<p><strong>Flawed on purpose: ambiguous.</strong> This question is ambiguous on "
                            "purpose; the answer says what a candidate should point out.</p>")
    assert coin["Answer"].startswith("<p>The question does not say")
    assert r"\(p \approx 0.34\)" in coin["Answer"]
    everything = json.dumps(apkg.notes) + json.dumps(apkg.models)
    assert "<script" not in everything and "alert(" not in everything

    # tags: topic, difficulty, kind, flaw, the question's own
    assert mean["tags"] == ["topic::stats", "difficulty::easy", "kind::knowledge", "tag::descriptive"]
    assert coin["tags"] == ["topic::stats", "difficulty::hard", "kind::knowledge", "flaw::ambiguous"]

    # a subdeck per topic under the book's deck; the note type shows the number and the fields
    assert sorted(apkg.decks.values()) == ["Mini Book", "Mini Book::Statistics"]
    assert {apkg.deck_of(qid) for qid in apkg.notes} == {"Mini Book::Statistics"}
    (model,) = apkg.models.values()
    assert [f["name"] for f in model["flds"]] == list(FIELDS)
    (template,) = model["tmpls"]
    assert "Question {{Number}}" in template["qfmt"] and "{{Prompt}}" in template["qfmt"]
    assert all(f"{{{{{name}}}}}" in template["afmt"] for name in ("Hint", "Flaw", "Answer"))
    assert template["afmt"].index("{{Hint}}") < template["afmt"].index("{{Flaw}}") < template["afmt"].index("{{Answer}}")

    # the image as media under a hash of its bytes, referenced by the note that shows it
    svg = (book / "book/images/dot.svg").read_bytes()
    name = hashlib.sha256(svg).hexdigest()[:32] + ".svg"
    assert apkg.media == {name: svg}
    assert apkg.media_map == {"0": name}
    assert f'<img src="{name}" alt="A dot"' in mean["Prompt"]
    assert name not in var["Prompt"] + var["Answer"] + coin["Prompt"]


def test_times_ids_and_guids_come_from_the_book(book, tmp_path):
    apkg = Apkg(deck(book)[0], tmp_path)
    identifier = "urn:uuid:00000000-0000-4000-8000-000000000001"
    assert {qid: note["guid"] for qid, note in apkg.notes.items()} == {
        qid: genanki.guid_for(identifier, qid) for qid in ("mean-median", "var-scale", "coin-fair")}
    assert {note["mod"] for note in apkg.notes.values()} == {int(EPOCH)}
    assert {card[3] for card in apkg.cards} == {int(EPOCH)}
    assert {model["mod"] for model in apkg.models.values()} == {int(EPOCH)}
    when = dt.datetime.fromtimestamp(int(EPOCH), dt.timezone.utc).timetuple()[:6]
    assert {info.date_time for info in apkg.infos} == {when}


def test_same_bytes_across_builds_clocks_and_places(book, tmp_path, monkeypatch):
    first = deck(book, tmp_path / "one")[0].read_bytes()
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.5)
    monkeypatch.setattr(time, "time_ns", lambda: 2_000_000_000_500_000_000)
    second = deck(book, tmp_path / "two")[0].read_bytes()
    elsewhere = shutil.copytree(book, tmp_path / "elsewhere" / "book")
    third = deck(elsewhere)[0].read_bytes()
    assert first == second == third
    # without SOURCE_DATE_EPOCH, out of git: book.yaml's date, still whatever the clock says
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    fourth = deck(book, tmp_path / "four")[0]
    monkeypatch.setattr(time, "time", lambda: 1_900_000_000.25)
    fifth = deck(book, tmp_path / "five")[0]
    assert fourth.read_bytes() == fifth.read_bytes() != first
    day = int(dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc).timestamp())
    assert {note["mod"] for note in Apkg(fourth, tmp_path).notes.values()} == {day}


def test_a_new_release_updates_the_same_notes(book, tmp_path):
    before = Apkg(deck(book, tmp_path / "before")[0], tmp_path)
    stats = book / "questions/stats.yaml"
    stats.write_text(stats.read_text().replace("Is it fair?", "Is it a fair coin?").replace(
        "title: Statistics", "title: Statistics and tests"))
    after = Apkg(deck(book, tmp_path / "after")[0], tmp_path)
    assert "Is it a fair coin?" in after.notes["coin-fair"]["Prompt"]
    assert {qid: n["guid"] for qid, n in after.notes.items()} == {qid: n["guid"] for qid, n in before.notes.items()}
    assert set(after.models) == set(before.models)
    assert set(after.decks) == set(before.decks)  # the topic's title changed, its deck's id did not
    assert after.deck_of("coin-fair") == "Mini Book::Statistics and tests"

    # another book (another identifier): other GUIDs and ids, so two books never collide
    meta = book / "book/book.yaml"
    meta.write_text(meta.read_text().replace("000000000001", "000000000002"))
    other = Apkg(deck(book, tmp_path / "other")[0], tmp_path)
    assert not {n["guid"] for n in other.notes.values()} & {n["guid"] for n in before.notes.values()}
    assert not set(other.models) & set(before.models) and not set(other.decks) & set(before.decks)


def test_narrowed_decks_are_named_as_sheets_are(book, tmp_path):
    path, _ = deck(book, tmp_path, topics=("stats",), difficulties=("hard", "easy"))
    assert path.name == "mini-book-stats-easy+hard.apkg"
    apkg = Apkg(path, tmp_path)
    assert list(apkg.notes) == ["mean-median", "coin-fair"]
    assert sorted(apkg.decks.values()) == ["Mini Book", "Mini Book::Statistics"]
    path, _ = deck(book, tmp_path, difficulties=("medium",))
    assert path.name == "mini-book-all-medium.apkg" and list(Apkg(path, tmp_path).notes) == ["var-scale"]
    path, _ = deck(book, tmp_path, tags=("descriptive",), kind="knowledge")
    assert path.name == "mini-book-all-all-knowledge-tagged-descriptive.apkg"
    assert list(Apkg(path, tmp_path).notes) == ["mean-median"]
    # a narrowed deck holds the same notes in the same decks as the whole one: importing both is one deck
    whole = Apkg(deck(book, tmp_path / "whole")[0], tmp_path)
    assert whole.notes["coin-fair"]["guid"] == Apkg(tmp_path / "mini-book-stats-easy+hard.apkg", tmp_path).notes[
        "coin-fair"]["guid"]

    with pytest.raises(BookError, match=r"no topic 'stat' in this book; its topics are: stats; did you mean 'stats'\?"):
        deck(book, topics=("stat",))
    with pytest.raises(BookError, match=r"no question in the book is tagged 'descriptiv'.*did you mean 'descriptive'\?"):
        deck(book, tags=("descriptiv",))
    with pytest.raises(BookError, match="no open-ended questions in the book; there is nothing to put in a deck"):
        deck(book, kind="open-ended")


def test_appendix_numbers_and_a_deck_per_topic(tmp_path):
    root = shutil.copytree(FIXTURES / "shaped", tmp_path / "shaped", ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    apkg = Apkg(deck(root)[0], tmp_path)
    assert sorted(apkg.decks.values()) == ["Shaped Book", "Shaped Book::Interview loops", "Shaped Book::Statistics"]
    numbers = {qid: note["Number"] for qid, note in apkg.notes.items()}
    assert any(n.startswith("A.") for n in numbers.values()) and any(n[0].isdigit() for n in numbers.values())
    assert {apkg.deck_of(qid) for qid in numbers if qid.startswith("loop-")} == {"Shaped Book::Interview loops"}


def test_cli(book):
    done = run_cli("anki", "--book", str(book))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(book / "dist" / "mini-book.apkg")
    assert re.search(r"stats\.yaml:\d+:\d+: warning: raw HTML <script>", done.stderr)
    with zipfile.ZipFile(io.BytesIO((book / "dist" / "mini-book.apkg").read_bytes())) as archive:
        assert archive.namelist() == ["collection.anki2", "media", "0"]

    done = run_cli("anki", "--book", str(book), "--topic", "stas", "--out", str(book / "elsewhere"))
    assert done.returncode == 1 and "did you mean 'stats'?" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("anki", "--book", str(book), "--difficulty", "extreme")
    assert done.returncode == 2 and "'extreme'" in done.stderr
    assert not (book / "elsewhere").exists()

    # the book is checked first: its errors, as path:line:col, and no deck
    (book / "dist" / "mini-book.apkg").unlink()
    stats = book / "questions/stats.yaml"
    stats.write_text(stats.read_text().replace("See also @q:mean-median.", "See also @q:mean-medain."))
    done = run_cli("anki", "--book", str(book))
    assert done.returncode == 1
    assert re.search(r"stats\.yaml:\d+:\d+: error: .*mean-medain", done.stderr), done.stderr
    assert not (book / "dist" / "mini-book.apkg").exists()


def test_the_books_own_template_words_the_fields(book, tmp_path):
    from bookbuild.templating import BUILTIN_TEMPLATES

    (book / "templates").mkdir()
    text = (BUILTIN_TEMPLATES / "questions.md.j2").read_text()
    (book / "templates/questions.md.j2").write_text(text.replace("**Hint.**", "**Tip.**"))
    apkg = Apkg(deck(book)[0], tmp_path)
    assert apkg.notes["mean-median"]["Hint"] == "<p><strong>Tip.</strong> Think of outliers.</p>"


def test_an_image_outside_the_book_is_never_read(book, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    (book / "book/images/leak.png").symlink_to(secret)
    stats = book / "questions/stats.yaml"
    stats.write_text(stats.read_text().replace("../book/images/dot.svg", "../book/images/leak.png"))
    with pytest.raises(BookError) as caught:
        deck(book)
    assert any("outside the book root" in str(d) for d in caught.value.report.errors)
    assert not (book / "dist").exists()
