"""What `markdown.scan` found in each text of the book, kept from one run to the next.

Scanning every prompt, hint and answer is most of `check` (a second of the 3000-question
benchmark book's 1.5), and each scan depends only on the text, the field it is in and the code.
So a scan is made at a neutral origin (line 1, column 1 of no file), kept in the book's cache by
the text's digest, and moved to the text's real place when it is used: every position a scan
holds is the origin's, shifted (markdown.scan makes them all with one function).

One cache entry holds every scan of a book, read once and written again only when a text was
new, with the scans of this run alone (what an edit made obsolete goes).
"""

from __future__ import annotations

import dataclasses
import json

from .cache import code_digest, digest
from .errors import Pos
from .markdown import Heading, ImageRef, ImageUse, Label, Ref, Scan, scan

_KINDS = {"refs": Ref, "labels": Label, "images": ImageRef, "image_uses": ImageUse, "fragments": ImageRef,
          "headings": Heading}
_ORIGIN = Pos("", 1, 1)


def _encode_item(item) -> dict:
    fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    pos = fields.pop("pos")
    return {**fields, "pos": [pos.line, pos.col]}


def _encode(found: Scan) -> dict:
    out: dict = {}
    for name in _KINDS:
        items = getattr(found, name)
        if items:
            out[name] = [_encode_item(item) for item in items]
    if found.definitions:
        out["definitions"] = {label: [_encode_item(r) for r in refs] for label, refs in found.definitions.items()}
    if found.problems:
        out["problems"] = [[pos.line, pos.col, severity, message] for pos, severity, message in found.problems]
    return out


def _decode(stored: dict, origin: Pos) -> Scan:
    def at(line: int, col: int) -> Pos:
        return Pos(origin.path, line + origin.line - 1, col + origin.col - 1)

    def item(cls, data: dict):
        return cls(**{**data, "pos": at(*data["pos"])})

    found = Scan()
    for name, cls in _KINDS.items():
        setattr(found, name, [item(cls, data) for data in stored.get(name, ())])
    found.definitions = {label: [item(ImageRef, d) for d in refs]
                         for label, refs in stored.get("definitions", {}).items()}
    found.problems = [(at(line, col), severity, message) for line, col, severity, message in stored.get("problems", ())]
    return found


class Scans:
    """`scan`, answered from the cache where it can be: `get` as many as needed, then `save`."""

    def __init__(self, store=None):
        self.store = store
        self.key = digest(code_digest(), "markdown-scans")
        self.known: dict[str, dict] = {}
        self.used: dict[str, dict] = {}
        self.new = False
        if store is not None:
            try:
                loaded = json.loads(store.get(self.key) or "{}")
                self.known = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                self.known = {}

    def get(self, text: str, origin: Pos, *, in_field: str | None = None, starts_block: bool = True) -> Scan:
        if self.store is None:
            return scan(text, origin, in_field=in_field, starts_block=starts_block)
        key = digest(text, in_field or "", "1" if starts_block else "0")
        stored = self.known.get(key)
        if stored is not None:
            try:
                found = _decode(stored, origin)
                self.used[key] = stored
                return found
            except (TypeError, ValueError, AttributeError):  # not a scan this code made: made again
                pass
        stored = _encode(scan(text, _ORIGIN, in_field=in_field, starts_block=starts_block))
        self.new = True
        self.used[key] = stored
        return _decode(stored, origin)

    def save(self) -> None:
        if self.store is not None and (self.new or len(self.used) != len(self.known)):
            self.store.put(self.key, json.dumps(self.used, ensure_ascii=False, sort_keys=True))
