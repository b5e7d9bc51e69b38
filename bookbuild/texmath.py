"""Simple inline TeX as HTML text: `x_i`, `\\alpha \\le 1`, `O(n^2)`, `\\mathbf{w}^\\top \\mathbf{x}`.

WeasyPrint draws every SVG formula anew, which dominates PDF time; most inline formulas are a
letter with an index or a short relation, which the book font sets as well as any math font.
Anything beyond this subset returns None and is typeset as SVG.
"""

from __future__ import annotations

import html
import re

GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3F5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("vartheta", 0x3D1),
    ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE),
    ("pi", 0x3C0), ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3D5),
    ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
    ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E), ("Pi", 0x3A0),
    ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9))}
RELATIONS = {"le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼",
             "in": "∈", "notin": "∉", "to": "→", "rightarrow": "→", "leftarrow": "←", "mapsto": "↦", "equiv": "≡",
             "propto": "∝", "subset": "⊂", "subseteq": "⊆", "times": "×", "cdot": "·", "pm": "±", "mid": "|",
             "ll": "≪", "gg": "≫", "implies": "⇒", "iff": "⇔", "cup": "∪", "cap": "∩", "otimes": "⊗", "odot": "⊙"}
SYMBOLS = {"infty": "∞", "partial": "∂", "nabla": "∇", "top": "⊤", "prime": "′", "ldots": "…", "cdots": "⋯",
           "dots": "…", "lVert": "‖", "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|", "{": "{", "}": "}",
           "%": "%", "_": "_", "#": "#", "&": "&", "lbrace": "{", "rbrace": "}", "langle": "⟨", "rangle": "⟩",
           "forall": "∀", "exists": "∃", "emptyset": "∅", "ell": "ℓ", "sum": "∑", "prod": "∏", "neg": "¬",
           "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "star": "⋆", "circ": "∘", "dagger": "†"}
FUNCTIONS = {"log", "ln", "exp", "sin", "cos", "tan", "max", "min", "arg", "argmax", "argmin", "det", "tr",
             "sup", "inf", "lim", "Pr", "sgn", "softmax", "diag", "rank", "dim", "ker", "mod"}
SPACES = {",": "\u2009", ";": "\u2005", ":": "\u2005", " ": " ", "!": "", "quad": "\u2003", "qquad": "\u2003\u2003"}
DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ", "1": "𝟙"}
BINARY = set("+=<>") | {"−"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([A-Za-z])|([0-9.]+)|(\s+)|(.)", re.S)


class Unsupported(Exception):
    pass


def _tokens(tex: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(tex):
        if m.group(1) is not None:
            out.append(("cmd", m.group(1)))
        elif m.group(2):
            out.append(("letter", m.group(2)))
        elif m.group(3):
            out.append(("number", m.group(3)))
        elif m.group(4):
            continue
        else:
            out.append(("char", m.group(5)))
    return out


class _Parser:
    def __init__(self, tex: str):
        self.toks = _tokens(tex)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def group(self) -> str:
        """`{...}` or a single atom, as HTML."""
        kind, value = self.peek()
        if kind == "char" and value == "{":
            self.take()
            out = self.sequence(until="}")
            if self.take() != ("char", "}"):
                raise Unsupported
            return out
        return self.atom()

    def raw_group(self) -> str:
        """The literal text of `{...}` (for \\mathrm, \\text, \\operatorname)."""
        if self.take() != ("char", "{"):
            raise Unsupported
        parts = []
        while self.peek() != ("char", "}"):
            kind, value = self.take()
            if kind is None or kind == "cmd" and value not in SPACES:
                raise Unsupported
            parts.append(SPACES.get(value, value) if kind == "cmd" else value)
        self.take()
        return html.escape("".join(parts))

    def atom(self) -> str:
        kind, value = self.take()
        if kind == "letter":
            return f"<i>{value}</i>"
        if kind == "number":
            return value
        if kind == "char":
            if value in "{}^_\\&$":
                raise Unsupported
            if value == ",":
                return ",\u2009"
            text = "−" if value == "-" else value
            return f"\u2009{html.escape(text)}\u2009" if text in BINARY else html.escape(text)
        if kind == "cmd":
            if value in GREEK:
                return f"<i>{GREEK[value]}</i>" if value[0].islower() else GREEK[value]
            if value in RELATIONS:
                return f"\u2009{RELATIONS[value]}\u2009"
            if value in SYMBOLS:
                return SYMBOLS[value]
            if value in SPACES:
                return SPACES[value]
            if value in FUNCTIONS:
                return f"\u2009{value}\u2009"  # log p, 2 ln 2: set apart as TeX does
            if value in ("mathbf", "boldsymbol", "bm"):
                return f'<b>{self.group().replace("<i>", "").replace("</i>", "")}</b>'
            if value in ("mathrm", "text", "textrm", "operatorname", "mathit", "textit"):
                text = self.raw_group()
                return f"<i>{text}</i>" if value in ("mathit", "textit") else text
            if value == "mathbb":
                text = self.raw_group()
                if len(text) != 1 or text not in DOUBLE_STRUCK:
                    raise Unsupported
                return DOUBLE_STRUCK[text]
        raise Unsupported

    def sequence(self, until: str | None = None) -> str:
        out = []
        while True:
            kind, value = self.peek()
            if kind is None or (until and (kind, value) == ("char", until)):
                return "".join(out)
            if kind == "char" and value in "+-" and (not out or out[-1].endswith(("(", "[", ",", "\u2009", "|"))):
                self.take()  # a sign, not an operation: no spaces around it
                out.append("−" if value == "-" else "+")
                continue
            if kind == "char" and value in "^_":
                self.take()
                tag = "sup" if value == "^" else "sub"
                out.append(f"<{tag}>{self.group()}</{tag}>")
                continue
            out.append(self.atom())


def tex_to_html(tex: str) -> str | None:
    """HTML for a simple inline formula, or None when it needs real typesetting."""
    if len(tex) > 120:
        return None
    try:
        parser = _Parser(tex)
        out = parser.sequence()
    except (Unsupported, IndexError):
        return None
    out = re.sub("\u2009+", "\u2009", out)
    out = re.sub("(" + "|".join(sorted(FUNCTIONS)) + ")\u2009\\(", r"\1(", out)  # max(a, b): no space
    return out.strip("\u2009")
