"""Templates: Jinja for question blocks (Markdown) and site chrome (HTML); pandoc templates and CSS.

Templates give the structure (divs, ids, attributes); book text is passed in as values, so
Jinja never compiles it, and `{{ ... }}` written in a prompt is printed as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

import bookbuild.templates

from .errors import BookError, Diagnostic, Pos, Report, shorten
from .limits import deadline

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


# Limits of one rendering: a book's template may loop over range() in range() or repeat a string
MAX_OUTPUT = 32_000_000  # characters (a block of a 5 MB topic file writes ~6 MB)
MAX_SECONDS = 20.0  # the sample book's blocks render in milliseconds
MAX_VALUE = 10_000_000  # characters or items of one value made by `*`, `%`, center() or indent()


class TemplateFailure(BookError):
    """A template that cannot be read, compiled or rendered: where, and why, as a diagnostic."""

    def __init__(self, path: Path, line: int, message: str):
        self.path, self.line, self.detail = path, line, message
        super().__init__(f"{path}:{line}: {message}", Report([Diagnostic(Pos(str(path), line), message)]))


class TemplateLimit(Exception):
    """A rendering that went past a limit (output, time, the size of a value)."""


class _Loader(jinja2.FileSystemLoader):
    """Template files as UTF-8 text; a file that is not is an error naming it and its line."""

    def get_source(self, environment, template):
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            path = next(Path(d) / template for d in self.searchpath if (Path(d) / template).is_file())
            data = path.read_bytes()
            line = data.count(b"\n", 0, exc.start) + 1
            raise TemplateFailure(path, line, f"template is not valid UTF-8 text (byte 0x{data[exc.start]:02x} "
                                  "here); save it as UTF-8") from None


class _Template(jinja2.Template):
    def render(self, *args, **kwargs) -> str:
        with deadline(MAX_SECONDS, _Timeout):
            return super().render(*args, **kwargs)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, bounded: output, time and the values `*`, `**` and `%` make. Any failure of a
    template (syntax, runtime, sandbox, limits) is a TemplateFailure naming the template's line."""

    template_class = _Template
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right > 256:
            raise TemplateLimit(f"{left} ** {right} is too large a number for a template")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_VALUE:
                    raise TemplateLimit(f"repeating a value {n} times makes more than {MAX_VALUE:,} "
                                        "characters or items")
        if operator == "%" and isinstance(left, str) and _HUGE_FORMAT.search(left):
            raise TemplateLimit(f"the format {shorten(left, 30)} pads to more than {MAX_VALUE:,} characters")
        return super().call_binop(context, operator, left, right)

    def _parse(self, source, name, filename):
        try:
            return super()._parse(source, name, filename)
        except jinja2.TemplateSyntaxError as exc:
            exc.filename = exc.filename or filename  # the lexer leaves some out (an unclosed raw)
            raise

    def concat(self, pieces) -> str:
        """The pieces joined, stopping where the output passes MAX_OUTPUT (at the template's line)."""
        out, size = [], 0
        for piece in pieces:
            size += len(piece)
            if size > MAX_OUTPUT:
                limit = TemplateLimit(f"the template wrote more than {MAX_OUTPUT // 1_000_000} MB")
                if hasattr(pieces, "throw"):
                    pieces.throw(limit)  # raised where the template is, so that its line is known
                raise limit
            out.append(piece)
        return "".join(out)

    def handle_exception(self, source=None):
        try:
            super().handle_exception(source)
        except BookError:
            raise
        except Exception as exc:  # noqa: BLE001 (every template failure is reported, never a traceback)
            found = _where(exc)
            if found is None:
                raise
            raise TemplateFailure(*found) from None


_HUGE_FORMAT = re.compile(r"%[-+ #0]*(?:\*|\d{8,})|%[-+ #0]*\d*\.(?:\*|\d{8,})")


def _checked_width(name: str, original):
    def checked(value, width=4, *args, **kwargs):
        if isinstance(width, int) and width > MAX_VALUE:
            raise TemplateLimit(f"{name}({width}) makes more than {MAX_VALUE:,} characters")
        return original(value, width, *args, **kwargs)
    return checked


class _Timeout(TemplateLimit):
    def __str__(self) -> str:
        return f"the template ran for more than {MAX_SECONDS:.0f} s"


def _env(book_root: Path, **options) -> jinja2.Environment:
    env = _Environment(loader=_Loader([str(d) for d in template_dirs(book_root)]),
                       undefined=jinja2.StrictUndefined, keep_trailing_newline=True, **options)
    env.filters["center"] = _checked_width("center", env.filters["center"])
    env.filters["indent"] = _checked_width("indent", env.filters["indent"])
    return env


# A book may override templates by name, and a book is untrusted: every template runs sandboxed
# (no attribute reaching Python internals, no mutation), so a template can shape output, not act.
def markdown_env(book_root: Path) -> jinja2.Environment:
    """The Jinja environment for templates that emit Markdown (no autoescape, strict)."""
    env = _env(
        book_root,
        autoescape=False,
        # `{#` opens pandoc attributes such as {#q-id}; Jinja comments use <#-- --#> instead
        comment_start_string="<#--",
        comment_end_string="--#>",
    )
    env.filters["md_escape"] = md_escape
    env.filters["md_url"] = md_url
    return env


def html_env(book_root: Path) -> jinja2.Environment:
    """The Jinja environment for templates that emit HTML (autoescaped, strict)."""
    return _env(book_root, autoescape=True)


def find_template(book_root: Path, name: str) -> Path:
    """A template file by name: the book's own if it has one, else the built-in."""
    for folder in template_dirs(book_root):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"template {name!r} not found")


def template_problem(exc: Exception, book_root: Path) -> tuple[Path, int, str] | None:
    """Where a template failed (its file and line) and what it was, for a diagnostic; None for
    an error that is not a template's."""
    if isinstance(exc, TemplateFailure):
        return exc.path, exc.line, exc.detail
    return _where(exc)


def _where(exc: BaseException) -> tuple[Path, int, str] | None:
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
    if isinstance(exc, SecurityError):
        kind = "refused by the template sandbox"
    elif isinstance(exc, TemplateLimit):
        kind = "template stopped"
    elif isinstance(exc, OverflowError) and "sandbox" in str(exc):  # range() past the sandbox's MAX_RANGE
        kind = "refused by the template sandbox"
    else:
        kind = "template error"
    detail = str(exc) if isinstance(exc, (jinja2.TemplateError, TemplateLimit, OverflowError)) \
        else f"{type(exc).__name__}: {exc}"
    return path, line or 1, f"{kind}: {detail[:300]}"
