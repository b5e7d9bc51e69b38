"""Simple inline TeX set as text for the PDF; anything harder is left to SVG typesetting."""

import pytest

from bookbuild.texmath import tex_to_html

T = "\u2009"


@pytest.mark.parametrize("tex, html", [
    ("x_i", "<i>x</i><sub><i>i</i></sub>"),
    (r"\alpha \le 1", f"<i>α</i>{T}≤{T}1"),
    ("O(n^2)", "<i>O</i>(<i>n</i><sup>2</sup>)"),
    (r"\mathbf{w}^\top \mathbf{x}", "<b>w</b><sup>⊤</sup><b>x</b>"),
    (r"\mathbb{R}^{n \times d}", f"ℝ<sup><i>n</i>{T}×{T}<i>d</i></sup>"),
    ("e^{-x}", "<i>e</i><sup>−<i>x</i></sup>"),
    (r"\max(X, 1-X)", f"max(<i>X</i>,{T}1{T}−{T}<i>X</i>)"),
    (r"2\ln 2", f"2{T}ln{T}2"),
    ("a < b", f"<i>a</i>{T}&lt;{T}<i>b</i>"),
])
def test_simple_formulas(tex, html):
    assert tex_to_html(tex) == html


@pytest.mark.parametrize("tex", [r"\frac{1}{2}", r"\sqrt{d}", r"\hat{\theta}", r"\sum_{i=1}^{n} x_i \left( a \right)",
                                 r"\begin{bmatrix} 1 \end{bmatrix}", "150{,}528", r"\mathbb{X}", "x^{"])
def test_anything_harder_is_left_to_svg(tex):
    assert tex_to_html(tex) is None
