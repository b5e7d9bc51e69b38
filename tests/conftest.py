"""Shared fixtures: small fixture books, and the sample book built once per test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EPOCH = "1767225600"  # 2026-01-01, for reproducible outputs

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def mini(tmp_path) -> Path:
    """A copy of the small fixture book, free to break."""
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    return dest


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """Run the real entry point, `python build.py ...`."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **(env or {})})


@pytest.fixture(scope="session")
def sample_builds(tmp_path_factory) -> dict[str, Path]:
    """The sample book built once per answers mode: {mode: dist/release folder}."""
    out = tmp_path_factory.mktemp("sample")
    result = {}
    for mode in ("appendix", "inline", "none"):
        done = run_cli("--answers", mode, "--out", str(out / mode))
        assert done.returncode == 0, done.stderr
        result[mode] = out / mode / "release"
    return result
