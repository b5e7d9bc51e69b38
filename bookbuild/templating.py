"""Templates: Jinja for question blocks (Markdown) and site chrome (HTML); pandoc templates and CSS.

Templates give the structure (divs, ids, attributes); book text is passed in as values, so
Jinja never compiles it, and `{{ ... }}` written in a prompt is printed as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

import bookbuild.templates

BUILTIN_TEMPLATES = Path(bookbuild.templates.__file__).resolve().parent
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@~^:!])")


def md_escape(value: str) -> str:
    """One line of plain text, safe inside Markdown structure (headings, link text)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_url(value: str) -> str:
    return quote(str(value).strip(), safe=":/?#[]@!$&'*+,;=%-._~")


def template_dirs(book_root: Path) -> list[Path]:
    """Where templates are looked up: the book's own templates/ first, then the built-ins."""
    own = book_root / "templates"
    return ([own] if own.is_dir() else []) + [BUILTIN_TEMPLATES]


# A book may override templates by name, and a book is untrusted: every template runs sandboxed
# (no attribute reaching Python internals, no mutation), so a template can shape output, not act.
def markdown_env(book_root: Path) -> jinja2.Environment:
    """The Jinja environment for templates that emit Markdown (no autoescape, strict)."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(book_root)]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        # `{#` opens pandoc attributes such as {#q-id}; Jinja comments use <#-- --#> instead
        comment_start_string="<#--",
        comment_end_string="--#>",
    )
    env.filters["md_escape"] = md_escape
    env.filters["md_url"] = md_url
    return env


def html_env(book_root: Path) -> jinja2.Environment:
    """The Jinja environment for templates that emit HTML (autoescaped, strict)."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(book_root)]),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    return env


def find_template(book_root: Path, name: str) -> Path:
    """A template file by name: the book's own if it has one, else the built-in."""
    for folder in template_dirs(book_root):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"template {name!r} not found")


def template_problem(exc: Exception, book_root: Path) -> tuple[Path, int, str] | None:
    """Where a Jinja error happened (template file and line) and what it was, for a diagnostic."""
    if not isinstance(exc, (jinja2.TemplateError, jinja2.sandbox.SecurityError)):
        return None
    path, line = None, getattr(exc, "lineno", None)
    if getattr(exc, "filename", None):
        path = Path(exc.filename)
    tb = exc.__traceback__
    while tb is not None:  # Jinja rewrites tracebacks so that template frames name the .j2 file
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            path, line = Path(tb.tb_frame.f_code.co_filename), tb.tb_lineno
        tb = tb.tb_next
    if path is None:
        return None
    kind = "refused by the template sandbox" if isinstance(exc, jinja2.sandbox.SecurityError) else "template error"
    return path, line or 1, f"{kind}: {exc}"
