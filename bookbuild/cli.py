"""The command line: `bookbuild [build] ...`, `bookbuild check ...`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import BookError, Report
from .model import ANSWER_MODES, FORMATS, PAGE_SIZES

EXIT_BOOK = 1


def print_report(report: Report) -> None:
    for d in report.sorted():
        click.echo(str(d), err=True)


def _formats(ctx, param, value: str | None) -> tuple[str, ...]:
    if value is None:
        return FORMATS
    chosen = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'}: formats are {', '.join(FORMATS)}")
    return chosen


class DefaultGroup(click.Group):
    """A group whose default command is `build`: `bookbuild --answers inline` builds."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["build", *args]
        return super().parse_args(ctx, args)


book_option = click.option("--book", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
                           show_default=True, help="The book root (holds book/book.yaml).")
strict_option = click.option("--strict", is_flag=True, help="Treat every warning as an error.")


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bookbuild")
def main() -> None:
    """Build question-heavy technical books: PDF, EPUB, HTML and practice sheets."""


@main.command()
@book_option
@click.option("--edition", default="release", show_default=True, help="A named edition from book.yaml.")
@click.option("--format", "formats", callback=_formats, help="Comma-separated subset of html,epub,pdf.")
@click.option("--answers", type=click.Choice(ANSWER_MODES), help="Where answers go (default: the edition's).")
@click.option("--page-size", type=click.Choice(PAGE_SIZES), help="PDF page size (default: book.yaml's).")
@click.option("--pdf-variant", type=click.Choice(["pdf/ua-1"]), help="An accessible (tagged) PDF.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: <book>/dist).")
@strict_option
def build(root, edition, formats, answers, page_size, pdf_variant, out, strict) -> None:
    """Build the book's editions (the default command)."""
    from .pipeline import BuildOptions, build as run_build

    options = BuildOptions(root=root, edition=edition, formats=formats, answers=answers, page_size=page_size,
                           pdf_variant=pdf_variant, out=out, strict=strict)
    try:
        result = run_build(options, progress=lambda name: click.echo(f"building {name}...", err=True))
    except BookError as exc:
        print_report(exc.report)
        if not exc.report.items:
            click.echo(f"error: {exc.message}", err=True)
        sys.exit(EXIT_BOOK)
    print_report(result.report)
    for path in result.outputs:
        click.echo(str(path))


@main.command()
@book_option
@click.option("--edition", help="Check one edition (default: every edition in book.yaml).")
@strict_option
def check(root, edition, strict) -> None:
    """Validate the book without building anything."""
    from .pipeline import check as run_check

    book, report = run_check(root, edition, strict)
    print_report(report)
    if report.errors:
        n = len(report.errors)
        click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)
        sys.exit(EXIT_BOOK)
    questions = len(book.questions) if book else 0
    click.echo(f"ok: {len(book.chapters)} chapters, {questions} questions, {len(book.interviews)} interviews")


if __name__ == "__main__":
    main()
