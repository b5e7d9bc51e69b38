"""Reading untrusted source files: size, encoding, line ends, and YAML with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import Pos, Report

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
# what XML 1.0 cannot hold (EPUB pages are XML): C0 controls but tab, newline and carriage return,
# lone surrogates (YAML's "\\ud800" makes one), U+FFFE and U+FFFF
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_CHAR_PROBLEMS = 10  # per file: one bad paste would make thousands


def char_problem(char: str, escaped: bool = False, written: str = "") -> str:
    """Why a character XML forbids may not be in book text, and what to do instead; `written`: the
    character reference that makes it (`&#7;`)."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return (f"U+{code:04X} is half of a UTF-16 surrogate pair, not a character: write the character itself "
                "(or \\U and eight hex digits in double quotes)")
    what = "control character" if code < 0x20 else "non-character"
    tail = ("; it comes from a backslash escape in double quotes: for a backslash, write \\\\ or use single "
            "quotes or a block (|)") if escaped else "; remove it"
    written = f" (written {written})" if written else ""
    return f"{what} U+{code:04X}{written} is not allowed in book text (EPUB pages are XML, which cannot hold it){tail}"


def text_char_problems(text: str, name: str, report: Report, origin: Pos | None = None) -> None:
    """An error for each character of `text` that XML forbids (the first MAX_CHAR_PROBLEMS)."""
    for n, m in enumerate(NOT_XML.finditer(text)):
        if n == MAX_CHAR_PROBLEMS:
            report.error(pos, f"more characters that are not allowed in book text follow; remove those first")
            return
        line = text.count("\n", 0, m.start())
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
        pos = Pos(name, line + 1, col + 1) if origin is None else origin.shifted(line, (origin.col if not line else 1) + col)
        report.error(pos, char_problem(m.group(0)))
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


def read_text(path: Path, report: Report, root: Path | None = None) -> str | None:
    """A source file as text, or None with the reason in `report`.

    With `root`, a file that resolves outside it (a symbolic link pointing out) is refused unread.
    """
    name = str(path)
    target = resolved(path)
    if root is not None and target is not None and not target.is_relative_to(root):
        report.error(Pos(name), "file is a symbolic link to a file outside the book root; "
                     "sources must be files inside the book")
        return None
    try:
        size = path.stat().st_size
    except OSError as exc:
        report.error(Pos(name), f"cannot read file: {exc.strerror}")
        return None
    if not path.is_file():
        report.error(Pos(name), "is not a regular file (a folder or a device); remove it or rename it")
        return None
    if size > MAX_BYTES:
        report.error(Pos(name), f"file is {size / 1e6:.1f} MB; source files are limited to 5 MB")
        return None
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        report.warning(Pos(name), "file starts with a byte-order mark; it was ignored")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        report.error(Pos(name, line, col), f"file is not valid UTF-8 text (byte 0x{data[exc.start]:02x} here); "
                     "save it as UTF-8")
        return None
    if "\r" in text:
        line = text.count("\n", 0, text.index("\r")) + 1
        report.warning(Pos(name, line), "Windows (CRLF) line ends; read as plain line ends")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        report.error(Pos(name, line), "file contains a NUL byte; it is not a text file")
        return None
    return text


def is_file(path: Path) -> bool:
    """Whether `path` is a file; False for a name the file system cannot even look up (too long)."""
    try:
        return path.is_file()
    except OSError:
        return False


def resolved(path: Path) -> Path | None:
    """`path` with every symbolic link followed; None for a link loop or an impossible name."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


@dataclass
class Y:
    """A YAML value with the position where it starts."""

    value: Any  # dict[str, Y] | list[Y] | scalar
    pos: Pos
    style: str | None = None  # the scalar style: '|', '>', '"', "'" or None (plain)

    def plain(self) -> Any:
        """The value without positions."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def _pos(name: str, mark) -> Pos:
    return Pos(name, mark.line + 1, mark.column + 1)


class _Constructor(yaml.constructor.SafeConstructor):
    pass


def load_yaml(path: Path, report: Report, root: Path | None = None, needs: str = "") -> Y | None:
    """Parse a YAML source file into positioned values; None if it cannot be read.

    `needs` says what the file must hold, for the message about an empty file.
    """
    name = str(path)
    text = read_text(path, report, root)
    if text is None:
        return None
    ok = True
    for n, line in enumerate(text.split("\n"), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            report.error(Pos(name, n, indent.index("\t") + 1), "tab used for indentation; YAML needs spaces")
            ok = False
    if not ok:
        return None
    try:
        node = _compose(text, name, report)
        if node is False:
            return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(name, mark) if mark else Pos(name)
        report.error(pos, f"YAML syntax error: {_syntax_message(exc)}")
        return None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        report.error(Pos(name, line, col), f"control character U+{exc.character:04X} is not allowed in YAML; "
                     "remove it")
        return None
    except yaml.YAMLError as exc:
        report.error(Pos(name), f"YAML error: {exc}")
        return None
    if node is None:
        report.error(Pos(name), "file is empty" + (f": it needs {needs}" if needs else ""))
        return None
    constructor = _Constructor()
    return _convert(node, name, constructor, report, text.split("\n"))


def _compose(text: str, name: str, report: Report):
    """The YAML node tree, or False when the text uses what the book format refuses.

    libyaml (C) reads the text when PyYAML has it, ten times faster than PyYAML's own reader;
    on any problem the text is read again by PyYAML, whose messages and positions are reported.
    """
    if _FAST_LOADER is not None:
        try:
            quiet = Report()
            if _plain_events(text, name, quiet, _FAST_LOADER):
                return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    if not _plain_events(text, name, report, _SafeLoader):
        return False
    return yaml.compose(text, Loader=_SafeLoader)


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's loader, with a syntax error where it would raise a bare ValueError."""

    def scan_flow_scalar_non_spaces(self, double, start_mark):
        try:
            return super().scan_flow_scalar_non_spaces(double, start_mark)
        except ValueError:  # chr() of an escape such as "\U00110000": past the last code point
            mark = self.get_mark()  # at the escape's hex digits, after the backslash and the U
            mark.column, mark.index, mark.pointer = mark.column - 2, mark.index - 2, mark.pointer - 2
            escape = self.prefix(8)
            raise yaml.scanner.ScannerError(
                None, None, f"escape \\U{escape} is past the last Unicode character, U+10FFFF: write "
                "the character itself", mark) from None


def _plain_events(text: str, name: str, report: Report, loader=yaml.SafeLoader) -> bool:
    """Refuse, before anything is built, what the book format never needs: aliases, tags, deep nesting.

    Aliases make a few lines expand into gigabytes ("billion laughs"); tags such as
    !!python/object would construct objects; both are refused at the first one.
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            report.error(_pos(name, event.start_mark),
                         "YAML anchors and aliases (&name, *name) are not allowed in book sources; "
                         "write the value out")
            return False
        tag = getattr(event, "tag", None)
        if tag and tag not in _PLAIN_TAGS and tag != "!":
            report.error(_pos(name, event.start_mark), f"YAML tag {_short_tag(tag)!r} is not allowed in book "
                         "sources; only plain text, numbers, dates, lists and mappings are")
            return False
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                report.error(_pos(name, event.start_mark),
                             f"YAML nested deeper than {MAX_DEPTH} levels; book sources never need that much")
                return False
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return True


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's complaint as a sentence saying what to do."""
    problem, context = exc.problem or "", exc.context or ""
    opened = exc.context_mark.line + 1 if exc.context_mark else None
    if "flow sequence" in context:
        return f"the list opened with '[' on line {opened} is not closed: add ']', or quote text that starts with '['"
    if "flow mapping" in context:
        return f"the mapping opened with '{{' on line {opened} is not closed: add '}}', or quote text that starts with '{{'"
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the quoted text opened on line {opened} is never closed"
    if "unknown escape character" in problem:
        return problem.replace("found unknown escape character", "unknown escape") \
            + " in double-quoted text; use single quotes or a block (|) for backslashes"
    if "mapping values are not allowed" in problem:
        return "':' followed by a space starts a key here; put text that contains ': ' in quotes or in a block (|)"
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return f"a value cannot start with {char!r} in YAML; put it in quotes"
    if "single document" in context:
        return "a second YAML document starts here ('---'); a source file holds one"
    if "expected <block end>" in problem or "could not find expected ':'" in problem:
        return "this line does not fit the indentation of the lines above (or is a key without ':')"
    return f"{context}: {problem}" if context else problem or "invalid YAML"


def _convert(node, name: str, constructor, report: Report, lines: list[str]) -> Y:
    pos = _pos(name, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Y] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                report.error(_pos(name, key_node.start_mark), "a mapping key must be a plain name")
                continue
            key = str(key_node.value)
            if key in out:
                report.error(_pos(name, key_node.start_mark),
                             f"duplicate key {key!r} (first at line {out[key].pos.line})")
                continue
            value = _convert(value_node, name, constructor, report, lines)
            value.key_pos = _pos(name, key_node.start_mark)  # type: ignore[attr-defined]
            out[key] = value
        return Y(out, pos)
    if isinstance(node, yaml.SequenceNode):
        return Y([_convert(v, name, constructor, report, lines) for v in node.value], pos)
    try:
        value = constructor.construct_object(node, deep=True)
    except Exception as exc:  # PyYAML raises ValueError, KeyError, AttributeError... on odd scalars
        report.error(pos, f"invalid value {node.value!r}: {_reason(exc)}")
        value = None
    if isinstance(value, str) and NOT_XML.search(value):
        char = NOT_XML.search(value).group(0)
        report.error(_escape_pos(node, name, lines, char), char_problem(char, escaped=node.style == '"'))
        value = NOT_XML.sub("", value)
    style = node.style or None  # libyaml gives "" for a plain scalar, PyYAML None
    if style in ("|", ">"):
        # the text starts on the line after the indicator, at the block's indentation
        line = pos.line  # 0-based index of the first line after the indicator
        while line < len(lines) and not lines[line].strip():
            line += 1
        indent = len(lines[line]) - len(lines[line].lstrip(" ")) if line < len(lines) else 0
        pos = Pos(name, pos.line + 1, indent + 1)
    return Y(value, pos, style)


_YAML_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_YAML_ESCAPES = {"0": "\x00", "a": "\x07", "b": "\x08", "v": "\x0b", "f": "\x0c", "e": "\x1b"}


def _escape_pos(node, name: str, lines: list[str], char: str) -> Pos:
    """Where in a scalar's source the escape (or the character) that made `char` is."""
    start, end = node.start_mark, node.end_mark
    for ln in range(start.line, min(end.line, len(lines) - 1) + 1):
        line = lines[ln]
        lo, hi = (start.column if ln == start.line else 0), (end.column if ln == end.line else len(line))
        for m in _YAML_ESCAPE.finditer(line, lo, hi):
            code = m.group(1)
            made = chr(int(code[1:], 16)) if len(code) > 1 and code[0] in "xuU" else _YAML_ESCAPES.get(code)
            if made == char:
                return Pos(name, ln + 1, m.start() + 1)
        at = line.find(char, lo, hi)
        if at >= 0:
            return Pos(name, ln + 1, at + 1)
    return _pos(name, start)


def _reason(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return exc.problem or "not a valid value"
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return "not a valid value of its type"
