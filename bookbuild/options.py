"""What a build is asked for (the command line's options): light, for the no-op check (stamp.py)
to read before the pipeline is imported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .model import FORMATS


@dataclass
class BuildOptions:
    root: Path
    edition: str = "release"
    formats: tuple[str, ...] = FORMATS
    answers: str | None = None
    page_size: str | None = None
    pdf_variant: str | None = None
    out: Path | None = None
    strict: bool = False
    since: str | None = None  # draft editions: compare with the book at this git ref
    mark_sent: bool = False  # draft editions: record this draft as mailed (book/drafts/<version>.json)
    proof: bool = False  # the print edition: crop marks around the bleed
