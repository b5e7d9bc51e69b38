"""Reading untrusted source files: size, encoding, line ends, and YAML with positions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import Pos, Report

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
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


def read_text(path: Path, report: Report) -> str | None:
    """A source file as text, or None with the reason in `report`."""
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        report.error(Pos(name), f"cannot read file: {exc.strerror}")
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
        report.error(Pos(name, line, col), "file is not valid UTF-8 text; save it as UTF-8")
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


def load_yaml(path: Path, report: Report) -> Y | None:
    """Parse a YAML source file into positioned values; None if it cannot be read."""
    name = str(path)
    text = read_text(path, report)
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
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                report.error(_pos(name, event.start_mark),
                             "YAML anchors and aliases (&name, *name) are not allowed in book sources")
                return None
            tag = getattr(event, "tag", None)
            if tag and tag not in _PLAIN_TAGS and tag != "!":
                report.error(_pos(name, event.start_mark), f"YAML tag {tag!r} is not allowed in book sources")
                return None
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    report.error(_pos(name, event.start_mark), f"YAML nested deeper than {MAX_DEPTH} levels")
                    return None
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(name, mark) if mark else Pos(name)
        problem = exc.problem or exc.context or "invalid YAML"
        report.error(pos, f"YAML syntax error: {problem}")
        return None
    except yaml.YAMLError as exc:
        report.error(Pos(name), f"YAML error: {exc}")
        return None
    if node is None:
        report.error(Pos(name), "file is empty")
        return None
    constructor = _Constructor()
    return _convert(node, name, constructor, report, text.split("\n"))


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
    except (yaml.YAMLError, ValueError) as exc:
        report.error(pos, f"invalid value: {exc}")
        value = None
    style = node.style
    if style in ("|", ">"):
        # the text starts on the line after the indicator, at the block's indentation
        line = pos.line  # 0-based index of the first line after the indicator
        while line < len(lines) and not lines[line].strip():
            line += 1
        indent = len(lines[line]) - len(lines[line].lstrip(" ")) if line < len(lines) else 0
        pos = Pos(name, pos.line + 1, indent + 1)
    return Y(value, pos, style)
