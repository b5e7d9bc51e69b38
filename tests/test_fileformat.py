"""The key table (bookbuild/fileformat.py) against the loader, the JSON Schemas and docs/format.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from bookbuild import fileformat
from bookbuild.fileformat import FILE_KINDS, SCHEMA_KINDS, json_schema, key_paths, schema_text
from bookbuild.load import load_book
from conftest import FIXTURES, ROOT, run_cli

CORPUS = ROOT / "tests" / "corpus"
REFERENCE = ROOT / "docs" / "format.md"
SHIPPED = ROOT / "bookbuild" / "schemas"


def kind_of(path: Path) -> str:
    """Which schema a YAML file of a book root follows."""
    if path.parent.name == "book":
        return "book"
    return {"interviews.yaml": "interviews", "discarded.yaml": "discarded"}.get(path.name, "topic")


def schema_errors(path: Path) -> list[str]:
    """What a JSON Schema validator (an editor's, say) reports on one YAML file."""
    data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    validator = jsonschema.Draft202012Validator(json_schema(kind_of(path)),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def book_yaml_files(root: Path) -> list[Path]:
    return [root / "book" / "book.yaml", *sorted((root / "questions").glob("*.yaml"))]


# ---- the schemas ---------------------------------------------------------------------------------

def test_schemas_are_valid_json_schemas():
    for kind in SCHEMA_KINDS:
        jsonschema.Draft202012Validator.check_schema(json_schema(kind))


def test_shipped_schemas_are_the_table():
    """bookbuild/schemas/ holds what the table gives (regenerate: python -m bookbuild.fileformat), and
    the export's schema made from it (regenerate: python -m bookbuild.export)."""
    from bookbuild import export

    assert sorted(p.name for p in SHIPPED.glob("*.json")) == sorted(
        [f"{k}.schema.json" for k in SCHEMA_KINDS] + [export.SCHEMA_NAME])
    for kind in SCHEMA_KINDS:
        assert (SHIPPED / f"{kind}.schema.json").read_text(encoding="utf-8") == schema_text(kind), kind
    assert (SHIPPED / export.SCHEMA_NAME).read_text(encoding="utf-8") == export.schema_text()


def test_schema_command_writes_them(tmp_path):
    done = run_cli("schema", "--out", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    for kind in SCHEMA_KINDS:
        assert json.loads((tmp_path / "s" / f"{kind}.schema.json").read_text()) == json_schema(kind)


@pytest.mark.parametrize("root", [ROOT, FIXTURES / "mini"], ids=["sample-book", "mini"])
def test_books_that_check_validate_against_the_schemas(root):
    for path in book_yaml_files(root):
        assert schema_errors(path) == [], path


# a check message that says a value is of the wrong type, not an allowed value, or a key not allowed
SCHEMA_MESSAGE = re.compile(r"must be (?:text|a number|a list|a mapping|a date)|is not one of|unknown key|"
                            r"missing the required key|(?<!file name )'[^']*' must be lower-case letters|"
                            r"(?:feedback|url|URL '[^']*') must start with|must be a mapping")
SCHEMA_CASES = sorted(
    case.name for case in CORPUS.iterdir() if (case / "expected.txt").is_file()
    and any(line.split(":")[0].endswith(".yaml") and SCHEMA_MESSAGE.search(line)
            for line in (case / "expected.txt").read_text().splitlines()))


def test_the_corpus_has_type_and_value_cases():
    assert {"12-type-list-for-text", "14-type-book-fields", "15b-values-not-allowed", "16-unknown-keys",
            "19-question-id-injection", "64-edition-name-traversal", "66-resource-javascript-url"} <= set(SCHEMA_CASES)


@pytest.mark.parametrize("case", SCHEMA_CASES)
def test_schemas_reject_what_check_rejects(case):
    """Each YAML file that check finds a wrong type, value or key in, the schema rejects too."""
    lines = (CORPUS / case / "expected.txt").read_text().splitlines()[1:]
    files = {line.split(":")[0] for line in lines if SCHEMA_MESSAGE.search(line)}
    files = {f for f in files if f.endswith(".yaml")}
    assert files
    for name in files:
        assert schema_errors(CORPUS / case / name), f"{case}: the schema accepts {name}"
    for path in book_yaml_files(CORPUS / case):  # and the files check accepts, it accepts
        if path.relative_to(CORPUS / case).as_posix() not in files and path.is_file():
            text = path.read_bytes()
            if b"&" not in text and b"!!" not in text:  # anchors and tags: check's own rules, not types
                assert schema_errors(path) == [], path


# ---- the loader takes its keys from the table ---------------------------------------------------

def test_reference_examples_load_without_a_key_error(tmp_path):
    """The reference's example files, put together as a book, load with no key or type error."""
    examples = reference_examples()
    root = tmp_path / "book"
    (root / "book" / "chapters").mkdir(parents=True)
    (root / "questions").mkdir()
    (root / "book" / "book.yaml").write_text(examples["book"])
    for kind, name in (("topic", "probability.yaml"), ("interviews", "interviews.yaml"),
                       ("discarded", "discarded.yaml")):
        (root / "questions" / name).write_text(examples[kind])
    _, report = load_book(root)
    assert not [d for d in report.items if "key" in d.message or "must be" in d.message], report.sorted()
    for path in book_yaml_files(root):
        assert schema_errors(path) == [], path


# ---- docs/format.md, the reference users read -----------------------------------------------------

def reference_sections() -> dict[str, str]:
    """The reference's text under each `## <file>` heading, by file kind."""
    text = REFERENCE.read_text(encoding="utf-8")
    out = {}
    for kind, (path, _) in FILE_KINDS.items():
        m = re.search(rf"^## `?{re.escape(path)}`?.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
        assert m, f"docs/format.md has no '## {path}' section"
        out[kind] = m.group(1)
    return out


def documented_keys(section: str) -> dict[str, list[str]]:
    """Rows of the section's key tables: `key path` → the other cells."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if cells and re.fullmatch(r"`[^`]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def reference_examples() -> dict[str, str]:
    """The first ```yaml example of each file kind's section."""
    out = {}
    for kind, section in reference_sections().items():
        m = re.search(r"```yaml\n(.*?)```", section, re.S)
        assert m, f"docs/format.md: the {kind} section has no yaml example"
        out[kind] = m.group(1)
    return out


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_reference_documents_every_key_the_loader_accepts(kind):
    documented = documented_keys(reference_sections()[kind])
    accepted = key_paths(FILE_KINDS[kind][1])
    assert not set(accepted) - set(documented), f"accepted but not documented in docs/format.md: " \
                                                f"{sorted(set(accepted) - set(documented))}"
    assert not set(documented) - set(accepted), f"documented in docs/format.md but refused: " \
                                                f"{sorted(set(documented) - set(accepted))}"


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_reference_gives_each_keys_type_requiredness_and_choices(kind):
    rows = documented_keys(reference_sections()[kind])
    for path in key_paths(FILE_KINDS[kind][1]):
        key = _key_at(FILE_KINDS[kind][1], path)
        type_cell, default_cell = rows[path][0], rows[path][1]
        for t in key.types:  # Markdown fields are text that is read as Markdown
            assert t in type_cell or (t == "text" and "Markdown" in type_cell), f"{path}: {t!r} not in {type_cell!r}"
        assert ("required" in type_cell) == key.required, f"{path}: required is {key.required}"
        for choice in key.choices:
            assert f"`{choice}`" in " ".join(rows[path]), f"{path}: allowed value {choice!r} not documented"
        if not key.required:
            assert default_cell not in ("", "—"), f"{path}: an optional key documents its default"


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_reference_examples_check(kind):
    """Each file kind's example in the reference is valid for its schema."""
    example = reference_examples()[kind]
    data = json.loads(json.dumps(yaml.safe_load(example), default=str))
    assert list(jsonschema.Draft202012Validator(json_schema(kind)).iter_errors(data)) == []


def _key_at(shape: fileformat.Shape, path: str) -> fileformat.Key:
    head, _, rest = path.partition(".")
    name = head.removesuffix("[]")
    key = shape.key(name)
    if not rest:
        return key
    if rest.startswith("<name>."):
        return _key_at(key.each, rest.removeprefix("<name>."))
    return _key_at(key.items if isinstance(key.items, fileformat.Shape) else key.keys, rest)


def test_key_at_walks_lists_and_names():
    assert _key_at(fileformat.BOOK, "parts[].title").name == "title"
    assert _key_at(fileformat.BOOK, "editions.<name>.answers").choices == fileformat.ANSWER_MODES
