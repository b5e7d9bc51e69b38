"""The mutation fuzzer (tests/fuzz.py) at a small fixed budget: no mutated book may give a
traceback, a stall, a line without a position, or (when accepted) an invalid output.

200 cases of seed 2026, checked in this process; every 25th case also through the CLI; the first
accepted book of each of six mutation families built through the CLI (html and epub, one with
the pdf too) and its EPUB through epubcheck. Larger runs: `make fuzz N=5000 SEED=7`.
"""

from __future__ import annotations

import pytest

from fuzz import Fuzzer, Settings

SEED = 2026
CASES = 200


@pytest.mark.slow
def test_fuzz_small_budget(tmp_path):
    settings = Settings(n=CASES, seed=SEED, out=tmp_path / "failures", max_builds=6, build_every=0, max_pdf=1,
                        cli_every=25, jobs=2, save_per_finding=1, quiet=True)
    summary = Fuzzer(settings).run()
    print(summary.text())
    assert summary.cases == CASES
    assert summary.builds >= 4 and summary.epubs_checked >= 1, summary.text()  # the build half did run
    if summary.hard:
        pytest.fail(f"the fuzzer found problems (replay one with `python -m tests.fuzz --seed {SEED} --case N`):\n"
                    + summary.text(), pytrace=False)
