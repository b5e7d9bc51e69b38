"""Going through a panflute document fast.

panflute's `walk` gives every list it passes through back to its parent as a new list: every
element is type-checked and attached again, a second per walk on a 300-question book, though a
filter changes a few elements. These two walk the same elements and touch only what changes.
"""

from __future__ import annotations

import json
import re

import panflute as pf


def rewrite(root: pf.Element, action) -> None:
    """`action(elem)` on every element under `root`, parents before children; an element it
    returns takes the place of the one it was given (and is gone through in turn).

    Changes the tree in place. panflute's `walk` rebuilds every list it passes through, which
    costs a second per walk on a 300-question book; this touches only what changes.
    Metadata is not gone through.
    """
    stack = [root]
    while stack:
        elem = stack.pop()
        for name in elem._children:
            if name == "metadata":
                continue
            value = getattr(elem, name, None)
            if isinstance(value, pf.ListContainer):
                children = []
                owner, location = value.parent, value.location
                for i, child in enumerate(value.list):  # the plain list: ListContainer's [] is slow
                    child.parent, child.location, child.index = owner, location, i  # what its [] does
                    new = action(child)
                    if new is not None and new is not child:
                        value[i] = new
                        new.parent, new.location, new.index = owner, location, i
                        child = new
                    children.append(child)
                stack.extend(reversed(children))
            elif isinstance(value, pf.Element):
                value.parent, value.location = elem, name
                new = action(value)
                if new is not None and new is not value:
                    setattr(elem, name, new)
                    value = new
                stack.append(value)


# the elements whose content is blocks: where a block can be
_BLOCK_HOLDERS = (pf.Doc, pf.Div, pf.BlockQuote, pf.Figure, pf.BulletList, pf.OrderedList, pf.ListItem)


def divs(root: pf.Element):
    """Every Div under `root`, parents before children, going through blocks only (not the
    inlines of a paragraph, where no Div can be: a tenth of the elements of a book). A Div's
    content is read after it is given, so a caller may change it first."""
    stack = [root]
    while stack:
        elem = stack.pop()
        if isinstance(elem, pf.Div):
            yield elem
        if isinstance(elem, _BLOCK_HOLDERS):
            stack.extend(reversed(elem.content.list))


def elements(root: pf.Element):
    """Every element under `root` and `root` itself, children before parents, in the order
    panflute's `walk` gives them to an action; read only (`walk` rebuilds every list)."""
    stack: list[tuple[pf.Element, bool]] = [(root, False)]
    while stack:
        elem, seen = stack.pop()
        if seen:
            yield elem
            continue
        stack.append((elem, True))
        children: list[pf.Element] = []
        for name in elem._children:
            value = getattr(elem, name, None)
            if name == "metadata" or isinstance(value, pf.DictContainer):
                continue
            if isinstance(value, pf.ListContainer):
                children.extend(value.list)
            elif isinstance(value, pf.Element):
                children.append(value)
        stack.extend((child, False) for child in reversed(children))


def walk_in_place(elem: pf.Element, action, doc: pf.Doc) -> None:
    """panflute's `elem.walk(action, doc)`, children before parents, an action's result taking
    the element's place (`[]` removes it, a list of elements is spliced in); a list is given to
    its parent again only when something in it changed. The root itself is not acted on.
    """
    for name in elem._children:
        value = getattr(elem, name, None)
        if name == "metadata" or isinstance(value, pf.DictContainer):
            if value is not None:
                setattr(elem, name, value.walk(action, doc))  # small: panflute's own walk
        elif isinstance(value, pf.ListContainer):
            changed = None
            owner, location = value.parent, value.location
            for i, child in enumerate(value.list):  # the plain list: ListContainer's [] is slow
                child.parent, child.location, child.index = owner, location, i  # what its [] does
                walk_in_place(child, action, doc)
                result = action(child, doc)
                if result is None or result is child:
                    if changed is not None:
                        changed.append(child)
                    continue
                if changed is None:
                    changed = value.list[:i]
                if isinstance(result, list):
                    changed.extend(result)
                else:
                    changed.append(result)
            if changed is not None:
                setattr(elem, name, changed)
        elif isinstance(value, pf.Element):
            value.parent, value.location = elem, name
            walk_in_place(value, action, doc)
            result = action(value, doc)
            if result is not None and result is not value and not isinstance(result, list):
                setattr(elem, name, result)


_SPACES = (pf.Space, pf.LineBreak, pf.SoftBreak)


def text_length(root: pf.Element) -> int:
    """`len(pf.stringify(root))`, counted without building the text: panflute's walk rebuilds
    every list it passes through (a seventh of a second over the answers of a 300-question book)."""
    total = 0
    stack = [root]
    while stack:
        elem = stack.pop()
        if isinstance(elem, (pf.DefinitionList, pf.Cite)):  # stringify writes these its own way
            total += len(pf.stringify(elem))  # its quotation marks too
            continue
        if hasattr(elem, "text"):
            total += len(elem.text)
        elif isinstance(elem, _SPACES):
            total += 1
        elif isinstance(elem, pf.Para):
            total += 2
        total += _quote_marks(elem)
        for name in elem._children:
            value = getattr(elem, name, None)
            if isinstance(value, pf.ListContainer):
                stack.extend(value.list)
            elif isinstance(value, pf.Element):
                stack.append(value)
    return total


def _quote_marks(elem: pf.Element) -> int:
    """stringify puts quotation marks around the content of Quoted: on its first and last child."""
    parent = elem.parent
    if type(parent) is not pf.Quoted:
        return 0
    items = parent.content.list
    return (elem is items[0]) + (elem is items[-1])


def run_filter(module, doc: pf.Doc) -> pf.Doc:
    """What the filter module's `main(doc)` does with `pf.run_filter`: its prepare, its action on
    every element, its finalize; on one document, in this process."""
    prepare, action, finalize = (getattr(module, name, None) for name in ("prepare", "action", "finalize"))
    if prepare is not None:
        prepare(doc)
    if action is not None:
        walk_in_place(doc, action, doc)
        result = action(doc, doc)
        if isinstance(result, pf.Doc):
            doc = result
    if finalize is not None:
        finalize(doc)
    return doc


IMAGE_NODE = re.compile(r'\{"t":\s*"Image",\s*"c":')  # an image node in pandoc JSON text


def change_image_urls(doc_json: str, change) -> str:
    """The document (pandoc JSON, as `to_json_text` writes it) with `change(url)` in place of the
    url of every image in its blocks (as `rewrite` goes through them: not the metadata).

    Only the image nodes are decoded and written again, found in the text: book text cannot fake
    one (a quote inside text is escaped in JSON), and loading the whole book takes far longer.
    """
    decoder = json.JSONDecoder()
    start = doc_json.index('"meta": ') + len('"meta": ')
    _, position = decoder.raw_decode(doc_json, start)  # past the metadata
    out: list[str] = [doc_json[:position]]

    def visit(node):
        if isinstance(node, dict):
            if node.get("t") == "Image":
                node["c"][2][0] = change(node["c"][2][0])
            node = node.get("c")
        if isinstance(node, list):
            for item in node:
                visit(item)

    for match in IMAGE_NODE.finditer(doc_json, position):
        if match.start() < position:  # inside the image written before (an image in an image's text)
            continue
        node, end = decoder.raw_decode(doc_json, match.start())
        visit(node)
        out += [doc_json[position:match.start()], json.dumps(node, ensure_ascii=False)]
        position = end
    out.append(doc_json[position:])
    return "".join(out)


_string = json.encoder.encode_basestring  # as json.dumps(text, ensure_ascii=False) writes a string


def to_json_text(doc: pf.Doc, blocks: list[str] | None = None) -> str:
    """`json.dumps(doc.to_json(), ensure_ascii=False)`, the same characters, written directly.

    panflute builds a dictionary for every element and json then writes them: on a 300-question
    book a third of a second and 40 MB for a moment, each time a builder hands pandoc the book.
    The elements a book is made of are written here; any other goes through panflute.
    `blocks`: the document's blocks already written (`block_json` of each), to use instead.
    """
    parts: list[str] = ['{"pandoc-api-version": ', json.dumps(doc.api_version), ', "meta": ',
                        json.dumps(doc.metadata.content.to_json(), ensure_ascii=False), ', "blocks": ']
    if blocks is None:
        _list(doc.content.list, parts)
    else:
        parts.append("[" + ", ".join(blocks) + "]")
    parts.append("}")
    return "".join(parts)


def json_blocks(text: str, at: int = 0) -> tuple[list[str], int]:
    """The text of each block written from `at` on, as `to_json_text` joins them (", "), up to the
    text's end or the ']' that closes their list; and where they end. ValueError when the text is
    not blocks."""
    decoder = json.JSONDecoder()
    blocks: list[str] = []
    while at < len(text) and text[at] != "]":
        _, end = decoder.raw_decode(text, at)
        blocks.append(text[at:end])
        at = end + 2 if text.startswith(", ", end) else end
    return blocks, at


def block_json(block: pf.Element) -> str:
    """One element as pandoc JSON, as `to_json_text` writes it."""
    write = _WRITERS.get(type(block))
    if write is None:
        return json.dumps(block.to_json(), ensure_ascii=False)
    parts: list[str] = []
    write(block, parts)
    return "".join(parts)


def _list(items, parts: list[str]) -> None:
    if not items:
        parts.append("[]")
        return
    sep = "["
    for item in items:
        parts.append(sep)
        sep = ", "
        write = _WRITERS.get(type(item))
        if write is None:
            parts.append(json.dumps(item.to_json(), ensure_ascii=False))
        else:
            write(item, parts)
    parts.append("]")


def _attr(elem, parts: list[str]) -> None:
    parts.append(json.dumps([elem.identifier, elem.classes, list(elem.attributes.items())], ensure_ascii=False)
                 if elem.classes or elem.attributes or elem.identifier else '["", [], []]')


def _bare(tag: str):
    text = '{"t": "%s"}' % tag
    return lambda elem, parts: parts.append(text)


def _text(tag: str):
    head = '{"t": "%s", "c": ' % tag
    return lambda elem, parts: parts.append(f"{head}{_string(elem.text)}}}")


def _inlines(tag: str):
    head = '{"t": "%s", "c": ' % tag

    def write(elem, parts):
        parts.append(head)
        _list(elem.content.list, parts)
        parts.append("}")
    return write


def _attributed(tag: str, before=None, after=None):
    """An element written as [attributes, content], with what comes `before` them (a heading's
    level) or `after` them (a link's or an image's target), each a function of the element."""
    head = '{"t": "%s", "c": [' % tag

    def write(elem, parts):
        parts.append(head if before is None else f"{head}{before(elem)}, ")
        _attr(elem, parts)
        parts.append(", ")
        _list(elem.content.list, parts)
        parts.append("]}" if after is None else f", {after(elem)}]}}")
    return write


def _target(elem) -> str:
    return f"[{_string(elem.url)}, {_string(elem.title)}]"


def _code(tag: str):
    head = '{"t": "%s", "c": [' % tag

    def write(elem, parts):
        parts.append(head)
        _attr(elem, parts)
        parts.append(f", {_string(elem.text)}]}}")
    return write


def _raw(tag: str):
    head = '{"t": "%s", "c": [' % tag
    return lambda elem, parts: parts.append(f"{head}{_string(elem.format)}, {_string(elem.text)}]}}")


def _math(elem, parts):
    parts.append(f'{{"t": "Math", "c": [{{"t": "{elem.format}"}}, {_string(elem.text)}]}}')


def _bullets(elem, parts):
    parts.append('{"t": "BulletList", "c": ')
    if not elem.content.list:
        parts.append("[]")
    sep = "["
    for item in elem.content.list:
        parts.append(sep)
        sep = ", "
        _list(item.content.list, parts)
    if elem.content.list:
        parts.append("]")
    parts.append("}")


_WRITERS = {
    pf.Space: _bare("Space"), pf.SoftBreak: _bare("SoftBreak"), pf.LineBreak: _bare("LineBreak"),
    pf.HorizontalRule: _bare("HorizontalRule"), pf.Str: _text("Str"),
    **{cls: _inlines(cls.__name__) for cls in (pf.Para, pf.Plain, pf.Emph, pf.Strong, pf.Underline, pf.Strikeout,
                                                pf.Superscript, pf.Subscript, pf.SmallCaps, pf.Note, pf.BlockQuote)},
    pf.Div: _attributed("Div"), pf.Span: _attributed("Span"),
    pf.Header: _attributed("Header", before=lambda e: e.level),
    pf.Link: _attributed("Link", after=_target), pf.Image: _attributed("Image", after=_target),
    pf.Code: _code("Code"), pf.CodeBlock: _code("CodeBlock"),
    pf.RawInline: _raw("RawInline"), pf.RawBlock: _raw("RawBlock"), pf.Math: _math, pf.BulletList: _bullets,
}
