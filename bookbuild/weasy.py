"""WeasyPrint as bookbuild runs it: no fetching, its complaints collected, formulas drawn once.

Light to import (WeasyPrint itself is imported when first used): the early worker of
`sheet` needs only this.
"""

from __future__ import annotations

import contextlib
import logging


def fetcher():
    """A WeasyPrint URL fetcher for data: URLs only: everything the PDF needs is embedded."""
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"refused to fetch {url!r}: outputs use only embedded resources")
    return DataOnlyFetcher()


class _Collect(logging.Handler):
    def __init__(self, messages: list[str]):
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def collect_messages():
    """What WeasyPrint logs meanwhile (it is silent unless a handler listens)."""
    messages: list[str] = []
    handler = _Collect(messages)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def pdf_bytes(html: str, identifier: bytes) -> tuple[bytes, list[str]]:
    """One self-contained HTML page as PDF bytes, and WeasyPrint's complaints; nothing is fetched."""
    import weasyprint

    from .formulas import reuse_svg_drawings

    reuse_svg_drawings()
    with collect_messages() as messages:
        document = weasyprint.HTML(string=html, url_fetcher=fetcher()).render()
        return document.write_pdf(pdf_identifier=identifier), messages
