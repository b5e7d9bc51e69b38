"""bookbuild: build question-heavy technical books (PDF, EPUB, HTML) from one source."""

__version__ = "0.1.0"

# Where bookbuild's source lives: the one place that names it. bookbuild is not published as a
# package; books install it from this repository at the tag of a version (`v` + __version__):
# `bookbuild new` writes that into a new book's workflow and README.
SOURCE_URL = "https://github.com/bookbuild/bookbuild"
