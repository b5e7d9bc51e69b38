"""Small helpers shared by the filters (importable both inside the package and as scripts)."""

import panflute as pf


def words(text):
    """Plain text as panflute inlines: words and the spaces between them."""
    out = []
    for i, word in enumerate(text.split()):
        if i:
            out.append(pf.Space())
        out.append(pf.Str(word))
    return out


def appendix_letter(n):
    """The letter of the n-th appendix: A, B, …, Z, then AA, AB, …"""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
