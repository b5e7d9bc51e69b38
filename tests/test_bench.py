"""The benchmark, as a smoke run at a tiny size: it generates a valid book and reports every figure;
its Quarto peer's project, checked as files, and the run with and without a quarto on PATH."""

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from bookbuild import bench, quarto_peer
from bookbuild.pipeline import check


def test_generated_book_is_valid(tmp_path):
    root = bench.generate(tmp_path / "book", 45)
    book, report = check(root)
    assert not report.errors, [str(d) for d in report.errors]
    assert len(book.questions) == 45 and len(book.chapters) == 2


@pytest.mark.slow
def test_benchmark_smoke_run(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--questions", "8", "--repeats", "1", "--json", str(out)]) == 0
    [result] = json.loads(out.read_text())
    for key in ("baseline", "full", "noop", "answer_html", "answer_all", "sheet"):
        assert result[key]["seconds"] > 0 and result[key]["peak_rss_mb"] > 10
    assert set(result["ratios"]) == {"full/baseline", "noop/full", "answer_html/full", "answer_all/full"}
    assert "| 8 | full |" in capsys.readouterr().out


# --- the Quarto peer (--peers quarto): the project it writes, and the run with and without quarto

LINK = re.compile(r"\]\(([^)\s]*)\)")
ANCHOR = re.compile(r"\{#([\w-]+)")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)


@pytest.fixture(scope="module")
def quarto_project(tmp_path_factory):
    """A 12-question synthetic book and its Quarto project (one chapter in each part's worth: 12 < 30)."""
    tmp = tmp_path_factory.mktemp("quarto")
    root = bench.generate(tmp / "src", 12)
    return root, quarto_peer.write_quarto_project(root, tmp / "quarto")


def _bank(root):
    return {q["id"]: topic.stem for topic in sorted((root / "questions").glob("*.yaml"))
            for q in yaml.safe_load(topic.read_text())["questions"]}


def _divs(text, prefix):
    """id → body of each `::: {#<prefix>…}` div (the project's divs do not nest)."""
    found = re.findall(r"^::: \{#" + prefix + r"([\w-]+)[^}]*\}\n(.*?)^:::$", text, re.M | re.S)
    return dict(found)


def test_quarto_config_lists_parts_chapters_and_appendix(quarto_project):
    root, project = quarto_project
    config = yaml.safe_load((project / "book" / "_quarto.yml").read_text())
    assert config["project"]["type"] == "book"
    assert config["book"]["title"] == "Benchmark Book" and config["book"]["author"] == "Bench"
    chapters = config["book"]["chapters"]
    assert chapters[0] == "index.qmd" and (project / "book" / "index.qmd").exists()
    source = yaml.safe_load((root / "book" / "book.yaml").read_text())
    assert [c["part"] for c in chapters[1:]] == [p["title"] for p in source["parts"]]
    listed = [f for c in chapters[1:] for f in c["chapters"]]
    assert listed == [Path(n).stem + ".qmd" for p in source["parts"] for n in p["chapters"]]
    assert all((project / "book" / f).exists() for f in listed)
    assert config["book"]["appendices"] == ["answers.qmd"]
    assert set(config["format"]) == {"html", "epub"}


def test_quarto_questions_and_answers_link_both_ways(quarto_project):
    root, project = quarto_project
    book = project / "book"
    files = {f.name: f.read_text() for f in book.glob("*.qmd")}
    anchors = {name: set(ANCHOR.findall(text)) for name, text in files.items()}
    # every link between files lands on an anchor in the file it names
    for name, text in files.items():
        for target in LINK.findall(text):
            file, _, anchor = target.partition("#")
            assert file in files and anchor in anchors[file], (name, target)
    questions = {qid: (name, body) for name, text in files.items() for qid, body in _divs(text, "q-").items()}
    answers = _divs(files["answers.qmd"], "a-")
    ids = _bank(root)
    assert len(ids) == 12 and set(questions) == set(ids) and set(answers) == set(ids)
    for qid, (name, body) in questions.items():
        assert name == "chapter-" + ids[qid].split("-")[1] + ".qmd"
        assert f"[Answer](answers.qmd#a-{qid})" in body
        assert f"]({name}#q-{qid})" in answers[qid]
    assert "**Question 1.12**" in files["chapter-001.qmd"] and "**Answer 1.12**" in files["answers.qmd"]


def test_quarto_keeps_the_math(quarto_project):
    root, project = quarto_project
    source = "".join(f.read_text() for f in (root / "book" / "chapters").glob("*.md"))
    for topic in (root / "questions").glob("*.yaml"):
        for q in yaml.safe_load(topic.read_text())["questions"]:
            source += q["prompt"] + q["answer"]
    formulas = set(MATH.findall(source))
    assert any(f.startswith("$$") for f in formulas) and len(formulas) > 5
    written = "".join(f.read_text() for f in (project / "book").glob("*.qmd"))
    typst = (project / "typst" / "book.qmd").read_text()
    assert all(f in written and f in typst for f in formulas)


def test_quarto_typst_document_holds_the_whole_book(quarto_project):
    root, project = quarto_project
    text = (project / "typst" / "book.qmd").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["title"] == "Benchmark Book" and "typst" in front["format"]
    for chapter in sorted((root / "book" / "chapters").glob("*.md")):
        assert chapter.read_text().splitlines()[0].replace("sec:", "sec-") in text
    ids = _bank(root)
    questions, answers = _divs(text, "q-"), _divs(text, "a-")
    assert set(questions) == set(answers) == set(ids)
    anchors = set(ANCHOR.findall(text))
    targets = LINK.findall(text)
    assert targets and all(t.startswith("#") and t[1:] in anchors for t in targets)
    assert all(f"(#a-{qid})" in questions[qid] and f"(#q-{qid})" in answers[qid] for qid in ids)


def _fake_timed(real):
    """bench.timed that runs only quarto (the fake one); bookbuild's runs are skipped, 0.5 s each."""
    def timed(cmd, env=None, cwd=None):
        return real(cmd, env, cwd) if Path(cmd[0]).name == "quarto" else (0.5, 50 * 2**20)
    return timed


def test_bench_without_quarto_keeps_the_project_and_says_how_to_time_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(bench, "timed", _fake_timed(bench.timed))
    out = tmp_path / "bench" / "bench.json"
    assert bench.main(["--questions", "12", "--repeats", "1", "--peers", "quarto", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    kept = (tmp_path / "bench" / "quarto-12").resolve()
    assert f"quarto was not found on PATH, so Quarto was not timed. The 12-question book is written as a " \
           f"Quarto project in {kept}" in printed
    assert f"(cd {kept}/book && time quarto render --to html)" in printed
    assert f"(cd {kept}/book && time quarto render --to epub)" in printed
    assert f"(cd {kept}/typst && time quarto render book.qmd --to typst)" in printed
    assert "quarto_all" not in printed
    [result] = json.loads(out.read_text())
    assert result["quarto"] == {"available": False, "project": str(kept)}
    assert (kept / "book" / "_quarto.yml").exists() and (kept / "typst" / "book.qmd").exists()


def test_bench_times_quarto_when_it_is_on_path(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake = bin_dir / "quarto"  # a stand-in that records its calls and writes what a render would
    fake.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo 1.6.40; exit 0; fi\n'
                    f'echo "$PWD $*" >> {log}\nmkdir -p _book && touch _book/out book.pdf\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(bench, "timed", _fake_timed(bench.timed))
    out = tmp_path / "bench.json"
    assert bench.main(["--questions", "12", "--repeats", "2", "--peers", "quarto", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not found" not in printed
    for key in ("quarto_html", "quarto_epub", "quarto_pdf", "quarto_all"):
        assert f"| 12 | {key} |" in printed
    [result] = json.loads(out.read_text())
    assert result["quarto"]["available"] and result["quarto"]["version"] == "1.6.40"
    all_ = result["quarto_all"]["seconds"]
    assert all_ >= max(result[f"quarto_{f}"]["seconds"] for f in ("html", "epub", "pdf")) > 0
    assert result["ratios"]["full/quarto_all"] == pytest.approx(0.5 / all_)
    calls = log.read_text().splitlines()
    assert len(calls) == 6 and [c.split(" ", 1)[1] for c in calls[:3]] == [
        "render --to html", "render --to epub", "render book.qmd --to typst"]
    assert [Path(c.split(" ")[0]).name for c in calls[:3]] == ["book", "book", "typst"]
    kept = Path(result["quarto"]["project"])  # kept without the renders' outputs
    assert kept == (tmp_path / "quarto-12").resolve()
    assert not (kept / "book" / "_book").exists() and not (kept / "typst" / "book.pdf").exists()
