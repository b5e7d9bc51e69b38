#!/usr/bin/env python3
"""Strip what book text may not carry into an output: raw HTML/TeX, scripts, event handlers.

Book sources are untrusted; validation warns with file and line, this filter enforces.
"""

import re

import panflute as pf

UNSAFE_URL = re.compile(r"^(javascript|vbscript|data|file):", re.I)
UNSAFE_ATTR = re.compile(r"^(on\w*|srcdoc|formaction|xlink:href|style)$", re.I)
# browsers drop control characters and spaces inside a URL's scheme: "\x01java\tscript:" runs
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")


def unsafe_url(url: str) -> bool:
    """Whether a URL would run code or read a file when a reader follows it."""
    return bool(UNSAFE_URL.match(_IGNORED_IN_SCHEME.sub("", url)))


def action(elem, doc):
    if isinstance(elem, (pf.RawBlock, pf.RawInline)):
        return []
    if isinstance(elem, pf.Link) and unsafe_url(elem.url):
        return pf.Span(*elem.content)
    if isinstance(elem, pf.Image) and unsafe_url(elem.url):
        return []
    attributes = getattr(elem, "attributes", None)
    if attributes:
        for key in [k for k, v in attributes.items() if UNSAFE_ATTR.match(k) or unsafe_url(v)]:
            del attributes[key]
    return None


def main(doc=None):
    return pf.run_filter(action, doc=doc)


if __name__ == "__main__":
    main()
