"""Templates: Jinja for question blocks (Markdown) and site chrome (HTML); pandoc templates and CSS.

Templates give the structure (divs, ids, attributes); book text is passed in as values, so
Jinja never compiles it, and `{{ ... }}` written in a prompt is printed as it is.
"""

from __future__ import annotations

import functools
import os
import re
import time
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import quote

import jinja2
from jinja2 import nodes
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, safe_range

import bookbuild.templates

from .errors import BookError, Diagnostic, Pos, Report, clip, shorten
from .limits import deadline
from .pandoc import run_pandoc
from .sources import MAX_BYTES, NOT_XML, resolved

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
BLOCK_OUTPUT = 1_000_000  # what a book's block may write beyond 4 x the book text it places
# a rendering's time; a book's blocks share it (the sample book's render in 0.03 s, a
# 3,000-question book's in 0.2 s)
MAX_SECONDS = 5.0
MAX_STEPS = 1_000_000  # loop steps and range() items of one rendering
MAX_VALUE = 10_000_000  # characters or items of one value made by `*`, `%`, center() or indent()


class TemplateFailure(BookError):
    """A template that cannot be read, compiled or rendered: where, and why, as a diagnostic."""

    def __init__(self, path: Path, line: int, message: str):
        self.path, self.line, self.detail = path, line, message
        super().__init__(f"{path}:{line}: {message}", Report([Diagnostic(Pos(str(path), line), message)]))


class TemplateLimit(Exception):
    """A rendering that went past a limit (output, time, the size of a value)."""


class _Unwritable(ValueError):
    """A value a template writes that no output can hold."""


def _writable(value):
    """`value`, as `{{ ... }}` writes it, when it holds no character that XML (EPUB pages) forbids:
    book text cannot hold one (check refuses it), so a template made it (`{{ '\\ud800' }}`)."""
    if isinstance(value, str) and NOT_XML.search(value):
        code = ord(NOT_XML.search(value).group(0))
        what = "half of a UTF-16 surrogate pair" if 0xD800 <= code <= 0xDFFF else \
            "a control character" if code < 0x20 else "a non-character"
        raise _Unwritable(f"the template writes U+{code:04X}, {what}, which XML (EPUB pages) cannot hold")
    return value


class _Loader(jinja2.FileSystemLoader):
    """Template files as UTF-8 text; a file that is not is an error naming it and its line, and so
    is a book's template that is a symbolic link out of the book."""

    def __init__(self, book_root: Path):
        self.book_root = book_root
        super().__init__([str(d) for d in template_dirs(book_root)])

    def get_source(self, environment, template):
        own = self.book_root / "templates" / template
        if own.is_file():
            _refuse_link_out(own, self.book_root)
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            path = next(Path(d) / template for d in self.searchpath if (Path(d) / template).is_file())
            data = path.read_bytes()
            line = data.count(b"\n", 0, exc.start) + 1
            raise TemplateFailure(path, line, f"template is not valid UTF-8 text (byte 0x{data[exc.start]:02x} "
                                  "here); save it as UTF-8") from None


class _Budget:
    """What one rendering may still do: characters to write, loop steps to take."""

    def __init__(self, output: int):
        self.output, self.steps = output, MAX_STEPS

    def take(self, steps: int) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise TemplateLimit(f"the template's loops and range() took more than {MAX_STEPS:,} steps "
                                "(a template loops over the book's questions, not over millions of items)")


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


class _Template(jinja2.Template):
    def render(self, *args, **kwargs) -> str:
        return self.render_within(MAX_SECONDS, MAX_OUTPUT, *args, **kwargs)

    def render_within(self, seconds: float, output: int, /, *args, **kwargs) -> str:
        """Rendered within `seconds`, `output` characters and MAX_STEPS loop steps; past any of
        them a TemplateFailure at the template's line."""
        token = _BUDGET.set(_Budget(output))
        try:
            with deadline(max(seconds, 0.001), _Timeout):
                return super().render(*args, **kwargs)
        except TemplateLimit as exc:  # arrived outside the template's own lines (as it began or ended)
            raise TemplateFailure(Path(self.filename or self.name or "template"), 1,
                                  f"template stopped: {exc}") from None
        finally:
            _BUDGET.reset(token)


def render_block(template: jinja2.Template, until: float, text: int, **values) -> str:
    """A book's block (Markdown) from `template` and `values`: done by `until` (time.monotonic()),
    and writing at most BLOCK_OUTPUT characters beyond 4 x the `text` characters of book text the
    values hold (a template shapes book text; it does not make pages of its own)."""
    return template.render_within(until - time.monotonic(), min(MAX_OUTPUT, BLOCK_OUTPUT + 4 * text), **values)


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, bounded: output, time, loop steps and the size of every value made (by an
    operator, `~`, a call or a filter: else a value could double at each step until memory runs
    out). Any failure of a template (syntax, runtime, sandbox, limits) is a TemplateFailure
    naming the template's line."""

    template_class = _Template
    intercepted_binops = frozenset({"*", "**", "%", "+"})

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
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _check_size(len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def call(self, context, obj, /, *args, **kwargs):
        """A call from a template (a method, a global, a macro), its result bounded; a str method
        that could make a huge string (replace, join, format, padding) is checked before it runs."""
        owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
        if isinstance(owner, str):
            if name == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            elif name == "join" and args:
                args = (_check_join(args[0], owner), *args[1:])
            elif name in ("center", "ljust", "rjust", "zfill", "format", "format_map", "expandtabs"):
                numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
                if any(n > MAX_VALUE for n in numbers) or _HUGE_BRACE.search(owner) \
                        or (name == "expandtabs" and owner.count("\t") * max(numbers, default=8) > MAX_VALUE):
                    raise TemplateLimit(f"{name}() would make more than {MAX_VALUE:,} characters")
        return _sized(super().call(context, obj, *args, **kwargs))

    def _parse(self, source, name, filename):
        try:
            tree = super()._parse(source, name, filename)
        except jinja2.TemplateSyntaxError as exc:
            exc.filename = exc.filename or filename  # the lexer leaves some out (an unclosed raw)
            raise
        for loop in tree.find_all(nodes.For):  # each step of a loop counts (see `stepped`)
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("stepped"), [loop.iter], [], None, None,
                                   lineno=loop.iter.lineno)
        for concat in list(tree.find_all(nodes.Concat)):  # `a ~ b ~ c`: measured before it is joined
            concat.nodes = [nodes.Call(nodes.EnvironmentAttribute("concatenated"),
                                       [nodes.List(concat.nodes), nodes.ContextReference()], [], None, None,
                                       lineno=concat.lineno)]
        return tree

    def concatenated(self, values: list, context) -> str:
        """`a ~ b ~ c` as Jinja joins it (escaping under autoescape), if it is not too long."""
        parts = [v if isinstance(v, str) else str(v) for v in values]
        _check_size(sum(map(len, parts)))
        return markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)

    def stepped(self, iterable):
        """`iterable`, each item a step of the rendering's MAX_STEPS."""
        budget = _BUDGET.get()
        for item in iterable:
            if budget is not None:
                budget.take(1)
            yield item

    def concat(self, pieces) -> str:
        """The pieces joined, stopping where the output passes its limit (at the template's line)."""
        budget = _BUDGET.get()
        most = budget.output if budget is not None else MAX_OUTPUT
        out, size = [], 0
        for piece in pieces:
            size += len(piece)
            if size > most:
                limit = TemplateLimit(f"the template wrote more than {_size(most)}"
                                      + (" (a block may write 1 MB more than 4 times the book text it places)"
                                         if most < MAX_OUTPUT else ""))
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
_HUGE_BRACE = re.compile(r"\{[^{}]*:[^{}]*\d{8,}")  # str.format's width: '{:99999999}'


def _sized(value):
    """`value`, if it holds at most MAX_VALUE characters or items; else a TemplateLimit."""
    if isinstance(value, (str, list, tuple, dict)):
        _check_size(len(value))
    return value


def _check_size(size: int) -> None:
    """A TemplateLimit if a value of `size` characters or items would be too large."""
    if size > MAX_VALUE:
        raise TemplateLimit(f"the template makes a value of more than {MAX_VALUE:,} characters or items")


def _check_replace(text, old, new) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        _check_size(len(text) + (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old)))


def _check_join(values, separator):
    """`values` as a list, if joining them with `separator` makes no value too long."""
    values = list(values)
    _check_size(sum(len(v) if isinstance(v, str) else len(str(v)) for v in values)
                + len(str(separator)) * max(0, len(values) - 1))
    return values


def _bounded_filter(name: str, original):
    """A filter whose result is bounded (`_sized`); replace, join, format, batch and slice are
    checked before they run (each can make a value far larger than what it is given)."""
    @functools.wraps(original)
    def bounded(*args, **kwargs):
        given = args[1:] if getattr(original, "jinja_pass_arg", None) is not None else args
        if name == "replace" and len(given) >= 3:
            _check_replace(*given[:3])
        elif name == "join" and given and kwargs.get("attribute", given[2] if len(given) > 2 else None) is None:
            cut = len(args) - len(given)
            args = (*args[:cut], _check_join(given[0], given[1] if len(given) > 1 else kwargs.get("d", "")),
                    *args[cut + 1:])
        elif name == "format" and given and isinstance(given[0], str) and _HUGE_FORMAT.search(given[0]):
            raise TemplateLimit(f"the format {shorten(given[0], 30)} pads to more than {MAX_VALUE:,} characters")
        elif name in ("batch", "slice") and len(given) > 1 and isinstance(given[1], int):
            _check_size(given[1])
        return _sized(original(*args, **kwargs))
    return bounded


def _checked_width(name: str, original):
    def checked(value, width=4, *args, **kwargs):
        if isinstance(width, int) and width > MAX_VALUE:
            raise TemplateLimit(f"{name}({width}) makes more than {MAX_VALUE:,} characters")
        return original(value, width, *args, **kwargs)
    return checked


def _size(chars: int) -> str:
    return f"{chars / 1_000_000:.0f} MB" if chars >= 1_000_000 else f"{chars:,} characters"


def _range(*args) -> range:
    """range(), as the sandbox bounds it (MAX_RANGE items), each item a step of the rendering."""
    items = safe_range(*args)
    budget = _BUDGET.get()
    if budget is not None:
        budget.take(len(items))
    return items


class _Timeout(TemplateLimit):
    def __str__(self) -> str:
        return f"the book's templates ran for more than {MAX_SECONDS:g} s"


def _env(book_root: Path, **options) -> jinja2.Environment:
    env = _Environment(loader=_Loader(book_root), finalize=_writable,
                       undefined=jinja2.StrictUndefined, keep_trailing_newline=True, **options)
    env.filters["center"] = _checked_width("center", env.filters["center"])
    env.filters["indent"] = _checked_width("indent", env.filters["indent"])
    env.filters.update({name: _bounded_filter(name, f) for name, f in env.filters.items()})
    env.globals["range"] = _range
    del env.globals["lipsum"]  # pages of placeholder text: nothing a book's template needs
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
            if folder != BUILTIN_TEMPLATES:
                _refuse_link_out(folder / name, book_root)
            return folder / name
    raise FileNotFoundError(f"template {name!r} not found")


TEXT_SUFFIXES = (".j2", ".html", ".css", ".js")  # the templates a build reads as text


def check_template_files(book_root: Path, report: Report) -> None:
    """The book's own templates/ folder, before any of it is read: a template is untrusted input,
    as a chapter is, so no symbolic link may lead out of the book, and each text file (.j2, .html,
    .css, .js) is UTF-8 text of at most 5 MB."""
    own = book_root / "templates"
    if not own.is_dir():
        return
    paths = [own]
    for folder, dirs, files in os.walk(own):  # links to folders are listed, not followed
        paths += [Path(folder) / name for name in sorted(dirs) + sorted(files)]
    for path in paths:
        try:
            _refuse_link_out(path, book_root)
        except TemplateFailure as exc:
            report.error(Pos(str(path)), exc.detail)
            continue
        if path.suffix in TEXT_SUFFIXES and path.is_file() and _check_text(path, report) and path.suffix == ".html":
            if _check_partials(path, book_root, report) and path.parent == own and path.name in PANDOC_TEMPLATES:
                _check_pandoc_template(path, report)


def _refuse_link_out(path: Path, book_root: Path) -> None:
    """A TemplateFailure if `path` is a symbolic link that leads out of the book root (or nowhere)."""
    target, root = resolved(path), resolved(book_root) or book_root
    if target is None:
        raise TemplateFailure(path, 1, "template cannot be resolved (a symbolic link loop?)")
    if not target.is_relative_to(root):
        raise TemplateFailure(path, 1, "template is a symbolic link out of the book root; a book's templates "
                              "must be files inside the book")


def _check_text(path: Path, report: Report) -> bool:
    """Whether the template file at `path` is UTF-8 text of at most 5 MB (else an error says why)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        report.error(Pos(str(path)), f"template is {size / 1e6:.1f} MB; templates are limited to 5 MB")
        return False
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        report.error(Pos(str(path), line, col), f"template is not valid UTF-8 text (byte 0x{data[exc.start]:02x} "
                     "here); save it as UTF-8")
        return False
    return True


# a pandoc template's partial, `${name()}`, `$name()$` or `${var:name()}`: pandoc reads the file
# `name` (with the template's extension if it has none) from the template's folder, `../` and all
_PARTIAL = re.compile(r"\$\{?\s*(?:[\w.-]+:)?([^\s$(){}:]+)\(\)")


def _check_partials(path: Path, book_root: Path, report: Report) -> bool:
    """An error for each partial of the pandoc template at `path` that is a file outside the book;
    whether there was none."""
    text = path.read_text(encoding="utf-8")
    root = resolved(book_root) or book_root
    ok = True
    for m in _PARTIAL.finditer(text):
        name = m.group(1)
        partial = path.parent / (name if Path(name).suffix else name + path.suffix)
        target = resolved(partial)
        if target is None or not target.is_relative_to(root):
            line = text.count("\n", 0, m.start(1)) + 1
            col = m.start(1) - (text.rfind("\n", 0, m.start(1)) + 1) + 1
            report.error(Pos(str(path), line, col), f"template partial {shorten(name)} is outside the book root; a "
                         "book's templates read files inside the book only")
            ok = False
    return ok


PANDOC_TEMPLATES = ("site.html", "pdf.html")  # what pandoc writes pages with (--template)
_PANDOC_WHERE = re.compile(r"\(line (\d+), column (\d+)\):?\s*")


def _check_pandoc_template(path: Path, report: Report) -> None:
    """An error if pandoc cannot compile the template at `path` (its syntax, a missing partial),
    at the place pandoc names."""
    try:
        run_pandoc(["-f", "markdown", "-t", "html5", "--standalone", f"--template={path}"], "x", timeout=60)
    except BookError as exc:
        message = exc.message.removeprefix("pandoc failed to convert the book: ")
        m = _PANDOC_WHERE.search(message)
        missing = re.search(r"Could not find data file templates/(\S+)", message)
        pos = Pos(str(path), int(m.group(1)), int(m.group(2))) if m else Pos(str(path))
        if m:
            message = message[:m.start()].removeprefix(f'Error compiling template "{path}" ').strip() \
                + " " + message[m.end():]
        elif missing:  # a partial that is not there: where the template names it
            name = Path(missing.group(1)).stem
            text = path.read_text(encoding="utf-8")
            at = text.find(name + "()")
            if at >= 0:
                pos = Pos(str(path), text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1)
            message = f"its partial {clip(name)}() is not a file beside it ({clip(missing.group(1))})"
        report.error(pos, f"pandoc cannot use this template: {message.strip()}")


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
    detail = str(exc) if isinstance(exc, (jinja2.TemplateError, TemplateLimit, OverflowError, _Unwritable)) \
        else f"{type(exc).__name__}: {exc}"
    return path, line or 1, f"{kind}: {detail[:300]}"
