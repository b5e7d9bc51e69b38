"""bookbuild: build question-heavy technical books (PDF, EPUB, HTML) from one source."""

__version__ = "0.1.0"
