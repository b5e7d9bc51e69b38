"""The benchmark, as a smoke run at a tiny size: it generates a valid book and reports every figure."""

import json

import pytest

from bookbuild import bench
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
