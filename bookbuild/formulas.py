"""Math for WeasyPrint, which renders no MathML: formulas typeset as SVG by ziamath, and each
SVG drawn into the PDF once, as a form XObject placed wherever the formula recurs.

Both steps are slow (a typeset formula ~25 ms, a drawn one ~15 ms) and a book sets the same
formulas in every build, in the book's PDF and again on every practice sheet and key. So both
are kept in the book's cache folder (`.bookbuild-cache/objects`, signed like every cached
object: a cache that came with the book is not trusted) and a rebuild reuses them. What is read
back is checked: a data URI of base64 SVG and three numbers; drawing operators made only of
numbers and path, colour and state operators.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
from pathlib import Path

from .cache import Cache, code_digest, digest
from .limits import deadline

MATH_PX = 15.0  # ziamath size (px) matching the 10.5 pt body text

_store: Cache | None = None
_lock = threading.Lock()


def use_cache(root: Path | None) -> None:
    """Keep typeset and drawn formulas in this book's cache (None: in memory only)."""
    global _store
    with _lock:
        _store = Cache(root) if root is not None else None


def _get(kind: str, *parts: str):
    store = _store
    if store is None:
        return None
    text = store.get(digest(code_digest(), kind, *parts))
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _put(kind: str, value, *parts: str) -> None:
    store = _store
    if store is not None:
        try:
            store.put(digest(code_digest(), kind, *parts), json.dumps(value, separators=(",", ":")))
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower


_URI = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/]+=*")


@functools.lru_cache(maxsize=None)
def math_image(tex: str, display: bool) -> tuple[str, float, float, float] | None:
    """A formula as an SVG data URI, its width and height and its depth below the baseline (px)."""
    kept = _get("math", tex, "display" if display else "inline")
    if (isinstance(kept, list) and len(kept) == 4 and isinstance(kept[0], str) and _URI.fullmatch(kept[0])
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in kept[1:])):
        return kept[0], float(kept[1]), float(kept[2]), float(kept[3])
    result = _typeset(tex, display)
    if result is not None:
        _put("math", list(result), tex, "display" if display else "inline")
    return result


# ziamath's time grows exponentially with the nesting of braces (check refuses formulas deeper than
# markdown.MAX_MATH_DEPTH, which take ~1 s) and with the square of a formula's length: past this,
# a formula is given up (printed as TeX, with a warning) rather than stall the PDF
TYPESET_SECONDS = 10.0


class _TypesetTimeout(Exception):
    pass


def _typeset(tex: str, display: bool) -> tuple[str, float, float, float] | None:
    import ziamath
    ziamath.config.svg2 = False  # plain paths, no <symbol>/<use>: WeasyPrint draws them faster
    try:
        with deadline(TYPESET_SECONDS, _TypesetTimeout):
            svg = ziamath.Math.fromlatex(tex, size=MATH_PX, inline=not display).svg()
    except Exception:  # ziamath raises many kinds of errors on TeX it cannot read; or took too long
        return None
    box = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg)
    if box is None:
        return None
    _, min_y, width, height = (float(v) for v in box.groups())
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return uri, width, height, height + min_y  # the baseline is at y = 0 in the SVG


# what an SVG of paths draws: numbers, names of graphics states, and these operators
_OPERAND = r"-?(?:\d+\.?\d*|\.\d+)"
_OPERATORS = "m l c v y h re f f* F S s B B* b b* n W W* q Q cm gs rg RG g G k K d J j M w".split()
_OP = re.compile(rf"(?:(?:{_OPERAND}|/[A-Za-z0-9.]+|\[(?:\s*{_OPERAND})*\s*\])\s+)*(?:"
                 + "|".join(re.escape(o) for o in _OPERATORS) + ")")
_STATE_NAME = re.compile(r"[A-Za-z0-9.]{1,32}")
_STATE_KEYS = {"ca", "CA"}


def _drawing_ok(kept) -> bool:
    if not (isinstance(kept, dict) and isinstance(kept.get("ops"), list) and isinstance(kept.get("gs"), dict)):
        return False
    if not all(isinstance(op, str) and _OP.fullmatch(op) for op in kept["ops"]):
        return False
    return all(isinstance(name, str) and _STATE_NAME.fullmatch(name) and isinstance(state, dict)
               and set(state) <= _STATE_KEYS and all(isinstance(v, (int, float)) for v in state.values())
               for name, state in kept["gs"].items())


def _recordable(form) -> dict | None:
    """The form's operators and graphics states, when that is all it uses (plain SVG paths)."""
    resources = form.extra.get("Resources", {})
    if any(resources.get(kind) for kind in ("XObject", "Pattern", "Shading")) or resources.get("Font"):
        return None
    if not all(isinstance(op, bytes) for op in form.stream):
        return None
    states = {}
    for name, state in resources.get("ExtGState", {}).items():
        if not (isinstance(state, dict) and set(state) <= _STATE_KEYS):
            return None
        states[str(name)] = {k: float(v) for k, v in state.items()}
    kept = {"ops": [op.decode("latin-1") for op in form.stream], "gs": states}
    return kept if _drawing_ok(kept) else None


def reuse_svg_drawings() -> None:
    """Draw each SVG image once per PDF, as a form XObject, and place it by name where it recurs.

    WeasyPrint draws an SVG afresh, parsing every path, each time it appears; a typical answers
    appendix sets 220 formulas, 13 of them distinct. The pages look the same, pixel for pixel;
    writing takes 60% less time and the file is a quarter of the size. A formula drawn in an
    earlier build is replayed from the cache. Idempotent; when WeasyPrint's internals are not as
    expected, WeasyPrint draws as it always does.
    """
    from weasyprint.images import SVGImage

    original = SVGImage.draw
    if getattr(original, "_bookbuild_reuse", False):
        return

    def draw(self, stream, width, height, *args):
        resources = getattr(stream, "_resources", None)
        if not (isinstance(resources, dict) and hasattr(stream, "add_group") and hasattr(resources, "__dict__")):
            return original(self, stream, width, height, *args)
        # the forms of one PDF live in its resources; the image is kept so that its id stays its own
        forms = resources.__dict__.setdefault("_bookbuild_forms", {})
        key = (id(self), round(width, 4), round(height, 4))
        if key not in forms:
            form = stream.add_group(0, 0, width, height)
            form.extra.pop("Group", None)  # a plain form: no transparency group (PDF/A-1 forbids them)
            url = getattr(self, "_base_url", None)  # for a data: image, the URI itself
            parts = (url, f"{width:.4f}", f"{height:.4f}") if isinstance(url, str) and url.startswith("data:") else None
            kept = _get("svg-form", *parts) if parts else None
            if _drawing_ok(kept):
                import pydyf
                form.stream = [op.encode("latin-1") for op in kept["ops"]]
                for name, state in kept["gs"].items():
                    form.extra["Resources"]["ExtGState"][name] = pydyf.Dictionary(state)
            else:
                original(self, form, width, height, *args)
                recorded = _recordable(form) if parts else None
                if recorded is not None:
                    _put("svg-form", recorded, *parts)
            forms[key] = (self, form.id)
        stream.draw_x_object(forms[key][1])

    draw._bookbuild_reuse = True
    draw.__wrapped__ = original
    SVGImage.draw = draw
