"""The command line: `bookbuild [build] ...`, `bookbuild check ...`."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from .errors import BookError, Report, close_match, plural, printable
from .model import ANSWER_MODES, DIFFICULTIES, FORMATS, KINDS, PAGE_SIZES

EXIT_BOOK = 1


def print_report(report: Report) -> None:
    for d in report.sorted():
        click.echo(str(d), err=True)


def fail(exc: BookError) -> NoReturn:
    """Report a user error (every problem, or its one sentence) and exit 1: never a traceback."""
    print_report(exc.report)
    if not exc.report.errors:
        click.echo(f"error: {printable(exc.message)}", err=True)
    sys.exit(EXIT_BOOK)


def _formats(ctx, param, value: str | None) -> tuple[str, ...]:
    if value is None:
        return FORMATS
    chosen = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'}: formats are {', '.join(FORMATS)}")
    return chosen


def _progress():
    """Progress on a terminal (rich); nothing when stderr is a pipe or a file."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    console = Console(stderr=True)
    labels = {"start": "building", "done": "built", "cached": "up to date:"}
    return lambda event, name: console.print(f"[dim]{labels[event]}[/dim] {name}")


class DefaultGroup(click.Group):
    """A group whose default command is `build`: `bookbuild --answers inline` builds.

    `build` is taken only when the first argument is an option (or there is none): a first word
    that names no command (`bookbuild chek`) is a usage error, with the command it may mean."""

    def parse_args(self, ctx, args):
        if args and args[0] in ("--help", "-h", "--version"):
            pass  # the group's own options
        elif not args or args[0].startswith("-"):
            args = ["build", *args]
        elif args[0] not in self.commands:
            name = args[0]
            close = close_match(name, self.list_commands(ctx))
            ctx.fail(f"No such command {name!r}. " + (f"Did you mean {close!r}?" if close else
                                                     f"The commands are: {', '.join(self.list_commands(ctx))}."))
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
@click.option("--since", metavar="GIT_REF", help="Draft editions: list changes since this commit or tag.")
@click.option("--mark-sent", is_flag=True, help="Draft editions: record this draft as mailed "
              "(book/drafts/<version>.json); the next draft lists its changes since this one.")
@click.option("--proof", is_flag=True, help="Print edition: crop marks around the bleed (a file to check, not "
              "to upload).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: <book>/dist).")
@strict_option
def build(root, edition, formats, answers, page_size, pdf_variant, since, mark_sent, proof, out, strict) -> None:
    """Build the book's editions (the default command)."""
    from .options import BuildOptions

    if page_size and edition == "print":
        raise click.UsageError("--page-size does not apply to the print edition: book.yaml's print: trim sets its "
                               "page size")
    if proof and edition != "print":
        raise click.UsageError("--proof adds crop marks to the paperback's interior: give it with --edition print")
    options = BuildOptions(root=root, edition=edition, formats=formats, answers=answers, page_size=page_size,
                           pdf_variant=pdf_variant, out=out, strict=strict, since=since, mark_sent=mark_sent,
                           proof=proof)
    if _replay_if_up_to_date(options):
        return
    from .errors import NotADraft
    from .pipeline import build as run_build

    try:
        result = run_build(options, progress=_progress())
    except NotADraft as exc:
        raise click.UsageError(exc.message) from None
    except BookError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted: the previous outputs are left as they were", err=True)
        sys.exit(130)
    print_report(result.report)
    for path in result.outputs:
        click.echo(str(path))
    for note in result.notes:
        click.echo(note)


def _replay_if_up_to_date(options) -> bool:
    """When nothing the last such build read or wrote has changed (stamp.py): print what it
    printed, as a rebuild would, and say so; the pipeline is not even imported."""
    from .stamp import up_to_date

    printed = up_to_date(options)
    if printed is None:
        return False
    for line in printed.get("checked", []):
        click.echo(line, err=True)
    if sys.stderr.isatty():
        for name in printed.get("formats", []):
            click.echo(click.style("up to date:", dim=True) + f" {name}", err=True)
    for line in [*printed.get("outputs", []), *printed.get("notes", [])]:
        click.echo(line)
    return True


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
        click.echo(plural(len(report.errors), "error"), err=True)
        sys.exit(EXIT_BOOK)
    questions = len(book.questions) if book else 0
    click.echo(f"ok: {plural(len(book.chapters), 'chapter')}, {plural(questions, 'question')}, "
               f"{plural(len(book.interviews), 'interview')}")


def _comma_list(allowed: tuple[str, ...] | None = None):
    """A click callback: "a, b,a" → ("a", "b"), each value one of `allowed` when given."""
    def callback(ctx, param, value: str | None) -> tuple[str, ...]:
        if value is None:
            return ()
        chosen = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
        unknown = [v for v in chosen if allowed and v not in allowed]
        if unknown or not chosen:
            raise click.BadParameter(f"{', '.join(map(repr, unknown)) or 'nothing'} given; "
                                     + (f"choose from {', '.join(allowed)}" if allowed else "give a comma-separated list"))
        return chosen
    return callback


def _file_name(ctx, param, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*", value):
        raise click.BadParameter(f"{value!r}: use letters, digits and . _ + - (a file name, no folders)")
    return value


@main.command()
@book_option
@click.option("--topic", "topics", callback=_comma_list(), metavar="T,...", help="Topics to draw from (default: all).")
@click.option("--difficulty", "difficulties", callback=_comma_list(DIFFICULTIES), metavar="LEVEL,...",
              help="Comma-separated subset of easy,medium,hard (default: all).")
@click.option("--tags", callback=_comma_list(), metavar="T,...", help="Only questions with any of these tags.")
@click.option("--kind", type=click.Choice(KINDS), help="Only knowledge or only open-ended questions.")
@click.option("--count", type=click.IntRange(min=1), help="How many questions (default: 20, or all that match).")
@click.option("--seed", type=int, help="Another seed, another choice; the same seed, the same sheet (default: 1).")
@click.option("--interview", metavar="ID", help="Print one of the book's sample interviews instead.")
@click.option("--exclude", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of question ids to leave out, one a line ('#' comments).")
@click.option("--format", "formats", default="pdf", show_default=True, callback=_comma_list(("pdf", "html")),
              metavar="pdf,html", help="Comma-separated subset of pdf,html.")
@click.option("--name", callback=_file_name, help="Output file name, without extension.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: <book>/dist/sheets).")
def sheet(root, topics, difficulties, tags, kind, count, seed, interview, exclude, formats, name, out) -> None:
    """Print a practice sheet, or a sample interview, with its answer key."""
    from .early import EarlyRenderer

    # first of all, before this process imports the rest: WeasyPrint loads meanwhile
    early = EarlyRenderer.start() if "pdf" in formats else None
    try:
        _sheet(root, topics, difficulties, tags, kind, count, seed, interview, exclude, formats, name, out, early)
    finally:
        if early is not None:
            early.close()


def _sheet(root, topics, difficulties, tags, kind, count, seed, interview, exclude, formats, name, out, early) -> None:
    from .sheets import SheetRequest, make_sheet

    choosing = {"--topic": topics, "--difficulty": difficulties, "--tags": tags, "--kind": kind, "--count": count,
                "--seed": seed, "--exclude": exclude}
    given = [option for option, value in choosing.items() if value not in (None, ())]
    if interview and given:
        raise click.UsageError(f"--interview prints the whole interview as the book has it; leave out {', '.join(given)}")
    request = SheetRequest(root=root, topics=topics, difficulties=difficulties, tags=tags, kind=kind, count=count,
                           seed=1 if seed is None else seed, interview=interview, exclude=exclude, formats=formats,
                           name=name, out=out)
    try:
        result = make_sheet(request, early)
    except BookError as exc:
        fail(exc)
    print_report(result.report)
    for path in result.outputs:
        click.echo(str(path))


@main.command("import-gitbook")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The new book root to write: a new or empty folder.")
@click.option("--title", help="The book's title (default: book.json's, else README.md's first heading).")
@click.option("--author", help="The book's author (default: book.json's).")
def import_gitbook(src, out, title, author) -> None:
    """Import a GitBook/HonKit book (SUMMARY.md and Markdown pages) as a new book root."""
    from .importers.gitbook import import_gitbook as run_import

    try:
        result = run_import(src, out, title=title, author=author)
    except BookError as exc:
        fail(exc)
    print_report(result.report)
    click.echo(result.summary())
    if result.report.errors:
        sys.exit(EXIT_BOOK)


@main.command()
@book_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--edition", default="release", show_default=True, help="A named edition from book.yaml.")
@click.option("--answers", type=click.Choice(ANSWER_MODES), help="Where answers go (default: the edition's).")
def serve(root, port, edition, answers) -> None:
    """Build the HTML site, serve it on localhost, rebuild and reload pages on every change."""
    from .pipeline import BuildOptions
    from .serve import serve as run_serve

    options = BuildOptions(root=root, edition=edition, answers=answers)
    try:
        run_serve(options, port, log=lambda message: click.echo(message, err=True))
    except OSError as exc:
        click.echo(f"error: cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}; choose another --port", err=True)
        sys.exit(EXIT_BOOK)
    except BookError as exc:
        fail(exc)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="schemas", show_default=True,
              help="The folder to write them into.")
def schema(out) -> None:
    """Write the JSON Schemas of book.yaml, topic files, interviews.yaml and discarded.yaml, and of
    the JSON that `export` writes."""
    from .export import write_schema as write_export_schema
    from .fileformat import write_schemas

    try:
        written = [*write_schemas(out), write_export_schema(Path(out))]
    except OSError as exc:
        click.echo(f"error: cannot write the schemas into {out}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_BOOK)
    for path in written:
        click.echo(str(path))


def _one_line(ctx, param, value: str | None) -> str | None:
    from .starter import check_text

    try:
        return None if value is None else check_text(value, param.name)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", callback=_one_line, help="The book's title (default: the starter book's).")
@click.option("--author", callback=_one_line, help="The author, as the title page prints it.")
def new(directory, title, author) -> None:
    """Start a book in DIRECTORY (new or empty): a small book that uses every feature once."""
    from .starter import new_book

    try:
        made = new_book(directory, title, author)
    except BookError as exc:
        fail(exc)
    click.echo(made.summary(str(directory)))


@main.command()
@book_option
@click.option("--format", "formats", default="json,csv", show_default=True, callback=_comma_list(("json", "csv")),
              metavar="json,csv", help="Comma-separated subset of json,csv.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: <book>/dist/export).")
def export(root, formats, out) -> None:
    """Write the question bank as data, <slug>.json and <slug>.csv, for other tools and spreadsheets."""
    from .export import export_bank

    try:
        result = export_bank(root, formats, out)
    except BookError as exc:
        fail(exc)
    print_report(result.report)
    for path in result.outputs:
        click.echo(str(path))


@main.command()
@book_option
@click.option("--topic", "topics", callback=_comma_list(), metavar="T,...", help="Topics to take (default: all).")
@click.option("--difficulty", "difficulties", callback=_comma_list(DIFFICULTIES), metavar="LEVEL,...",
              help="Comma-separated subset of easy,medium,hard (default: all).")
@click.option("--tags", callback=_comma_list(), metavar="T,...", help="Only questions with any of these tags.")
@click.option("--kind", type=click.Choice(KINDS), help="Only knowledge or only open-ended questions.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: <book>/dist).")
def anki(root, topics, difficulties, tags, kind, out) -> None:
    """Write the questions as an Anki deck (.apkg), a subdeck per topic; a new release updates it."""
    from .anki import AnkiRequest, make_deck

    try:
        result = make_deck(AnkiRequest(root=root, topics=topics, difficulties=difficulties, tags=tags, kind=kind,
                                       out=out))
    except BookError as exc:
        fail(exc)
    print_report(result.report)
    for path in result.outputs:
        click.echo(str(path))


def run() -> None:
    """The command line as a program (build.py, the `bookbuild` script).

    Once the command is done and its output flushed, the process ends at once: the interpreter's
    own teardown (freeing every object of WeasyPrint, pandoc's documents...) takes ~0.1 s, a
    twentieth of a practice sheet. Every file is written and closed, and every worker joined, by then.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
