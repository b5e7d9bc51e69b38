"""The README as a new author reads it: what to run first, in order, and every command in it real."""

from __future__ import annotations

import re
import shlex

import click

from bookbuild.cli import main
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CODE_BLOCKS = re.findall(r"```(?:sh)?\n(.*?)```", README, re.S)


def commands(block: str) -> list[list[str]]:
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line]


def test_readme_starts_with_what_an_author_runs():
    first = [c[0] if c[0] != "bookbuild" else f"bookbuild {c[1]}" for c in commands(CODE_BLOCKS[0])]
    assert first[0] == "pip", first
    order = ["bookbuild new", "cd", "bookbuild check", "bookbuild serve", "bookbuild build"]
    assert [c for c in first if c in order] == order, first
    # then the two set-up commands of this repository
    later = [c for block in CODE_BLOCKS[1:] for c in commands(block)]
    assert ["make"] in later and ["make", "test"] in later
    assert README.index("make test") > README.index("bookbuild build")


def test_readme_links_the_format_reference_first():
    links = re.findall(r"\]\((docs/[^)#]+\.md)", README)
    assert links[:2] == ["docs/format.md", "docs/publishing.md"], links
    for link in set(re.findall(r"\]\((docs/[^)#]+)", README)):
        assert (ROOT / link).exists(), link


def test_every_bookbuild_command_in_the_readme_parses():
    """Each `bookbuild ...` line of the README is a command line the CLI accepts as written."""
    found = [c for block in CODE_BLOCKS for c in commands(block) if c[0] == "bookbuild"]
    assert len(found) >= 4
    for args in found:
        ctx = click.Context(main, info_name="bookbuild")
        command = main.get_command(ctx, args[1])
        assert command is not None, f"README: {shlex.join(args)}: no such command"
        try:
            command.make_context(args[1], list(args[2:]), parent=ctx)
        except click.UsageError as exc:
            raise AssertionError(f"README: {shlex.join(args)}: {exc}") from exc
