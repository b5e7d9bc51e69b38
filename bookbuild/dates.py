"""The one build date: SOURCE_DATE_EPOCH, else the last commit, else book.yaml's date, else now."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildDate:
    when: dt.datetime  # UTC
    source: str  # SOURCE_DATE_EPOCH | git | book.yaml | now

    @property
    def reproducible(self) -> bool:
        return self.source != "now"

    @property
    def epoch(self) -> int:
        return int(self.when.timestamp())


def git(root: Path, *args: str) -> str | None:
    """Output of a git command in `root`, or None when it is not a repository (or git fails)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def build_date(root: Path, book_date: dt.date | None) -> BuildDate:
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return BuildDate(dt.datetime.fromtimestamp(int(env), dt.timezone.utc), "SOURCE_DATE_EPOCH")
    commit_time = git(root, "log", "-1", "--format=%ct")
    if commit_time and commit_time.isdigit() and git(root, "rev-parse", "--show-toplevel"):
        return BuildDate(dt.datetime.fromtimestamp(int(commit_time), dt.timezone.utc), "git")
    if book_date:
        return BuildDate(dt.datetime(book_date.year, book_date.month, book_date.day, tzinfo=dt.timezone.utc), "book.yaml")
    return BuildDate(dt.datetime.now(dt.timezone.utc).replace(microsecond=0), "now")
