#!/usr/bin/env python3
"""Keep only the chapters an edition lists (metadata `bookbuild-chapters`).

Runs after numbering, so a question keeps its full-book number; the ids left out are listed
in `bookbuild-omitted` so that references to them read "(not in this draft)".
"""

import panflute as pf


def prepare(doc):
    wanted = doc.get_metadata("bookbuild-chapters", None)
    if not wanted:
        return
    wanted = set(wanted)
    kept, omitted, part, part_blocks, keep = [], [], None, [], True

    def collect(elem, d):
        if getattr(elem, "identifier", ""):
            omitted.append(elem.identifier)

    def flush():
        if part is not None and any(isinstance(b, pf.Header) and "chapter" in b.classes for b in part_blocks):
            kept.append(part)
        kept.extend(part_blocks)

    for block in list(doc.content):
        if isinstance(block, pf.Header) and "part" in block.classes:
            flush()
            part, part_blocks, keep = block, [], True
            continue
        if isinstance(block, pf.Header) and "chapter" in block.classes:
            keep = block.attributes.get("data-file") in wanted
        if keep:
            part_blocks.append(block)
        else:
            block.walk(collect)
    flush()
    doc.content = kept
    doc.metadata["bookbuild-omitted"] = sorted(set(omitted))


def main(doc=None):
    return pf.run_filter(lambda e, d: None, prepare=prepare, doc=doc)


if __name__ == "__main__":
    main()
