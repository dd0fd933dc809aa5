"""The documentation keeps its promises.

Every spec example in docs/spec-language.md compiles without a warning, or fails with the
message written above it (``<!-- error: FRAGMENT -->``), or compiles with the warning written
above it (``<!-- warning: FRAGMENT -->``); every other YAML example there is valid YAML as
archspec reads it; every relative link in the README and docs names a file of the repository (and a
heading, when it names one); and no document points at anything users do not have.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors
from archspec.spec.load import load_text

ROOT = Path(__file__).resolve().parent.parent
SPEC_LANGUAGE = ROOT / "docs" / "spec-language.md"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

# A fenced YAML example, optionally marked just above with the error or warning it gives.
_EXAMPLE = re.compile(r"(?:<!-- (?P<mark>error|warning): (?P<message>.*?) -->\n)?```yaml\n(?P<body>.*?)^```",
                      re.S | re.M)
_MARKER = re.compile(r"<!-- (?:error|warning): ")
_FENCED = re.compile(r"^```.*?^```", re.S | re.M)
_LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")  # relative links: no scheme, not only an anchor
_ANCHORED = re.compile(r"\]\(([^)#:]*)#([^)]*)\)")


@dataclass(frozen=True)
class Example:
    line: int
    text: str
    mark: Optional[str]     # "error" or "warning": what the example must produce; None: neither
    message: Optional[str]  # the fragment that error or warning contains

    @property
    def is_spec(self) -> bool:
        """A complete spec: its first line that is not a comment is ``archspec: 1``."""
        lines = [ln for ln in self.text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        return bool(lines) and lines[0].split("#")[0].strip() == "archspec: 1"


def examples(text: str) -> list[Example]:
    """The fenced YAML examples of a Markdown text, with the line where each body starts."""
    return [Example(text.count("\n", 0, m.start("body")) + 1, m.group("body"), m.group("mark"), m.group("message"))
            for m in _EXAMPLE.finditer(text)]


EXAMPLES = examples(SPEC_LANGUAGE.read_text(encoding="utf-8"))
SPECS = [e for e in EXAMPLES if e.is_spec]
FRAGMENTS = [e for e in EXAMPLES if not e.is_spec]


def _id(example: Example) -> str:
    return f"line{example.line}" + (f"-{example.mark}" if example.mark else "")


def test_the_reference_has_examples_of_every_kind() -> None:
    marks = [e.mark for e in SPECS]
    assert marks.count(None) >= 8 and marks.count("error") >= 5 and marks.count("warning") >= 1


def test_every_marker_belongs_to_a_spec_example() -> None:
    marked = [e for e in EXAMPLES if e.mark is not None]
    assert len(_MARKER.findall(SPEC_LANGUAGE.read_text(encoding="utf-8"))) == len(marked)
    assert all(e.is_spec for e in marked)


@pytest.mark.parametrize("example", SPECS, ids=[_id(e) for e in SPECS])
def test_spec_example(example: Example) -> None:
    path = f"example-at-line-{example.line}.yaml"
    if example.mark == "error":
        with pytest.raises(SpecErrors) as raised:
            compile_text(example.text, path)
        assert example.message in raised.value.format(all_errors=True)
        return
    warnings = "\n".join(w.format() for w in compile_text(example.text, path).analysis.warnings)
    if example.mark == "warning":
        assert example.message in warnings
    else:
        assert not warnings, "an example shown as valid warns"


@pytest.mark.parametrize("example", FRAGMENTS, ids=[_id(e) for e in FRAGMENTS])
def test_fragment_is_yaml(example: Example) -> None:
    load_text(example.text, f"spec-language.md:{example.line}")


def test_the_extraction_sees_marked_mistakes() -> None:
    found = examples("<!-- error: duplicate key 'a' -->\n```yaml\narchspec: 1\na: 1\na: 2\n```\n")
    assert found == [Example(3, "archspec: 1\na: 1\na: 2\n", "error", "duplicate key 'a'")]
    assert found[0].is_spec and not examples("```yaml\nlayers: []\n```\n")[0].is_spec


# ---------------------------------------------------------------- links
def slug(heading: str) -> str:
    """The anchor GitHub gives a heading.

    >>> slug("Budgets: `limits:`"), slug("The `train:` section"), slug("Graphs: branches, merges")
    ('budgets-limits', 'the-train-section', 'graphs-branches-merges')
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file (outside code), repeated headings numbered."""
    seen: dict[str, int] = {}
    result = set()
    for line in _FENCED.sub("", path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f"{base}-{count}")
    return result


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_relative_links_name_files_of_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [target for target in _LINK.findall(text) if not (doc.parent / target).exists()]
    assert not missing, f"{doc.relative_to(ROOT)} links to {missing}, which are not in the repository"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_links_to_headings_name_existing_headings(doc: Path) -> None:
    text = _FENCED.sub("", doc.read_text(encoding="utf-8"))
    broken = []
    for target, anchor in _ANCHORED.findall(text):
        file = doc if not target else doc.parent / target
        if file.suffix == ".md" and file.exists() and anchor not in anchors(file):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{doc.relative_to(ROOT)} links to headings that do not exist: {broken}"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_no_document_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    found = [words for words in ("../shared", "shared design folder") if words in text]
    assert not found, f"{doc.relative_to(ROOT)} mentions {found}, which users do not have; link to a file " \
                      "of the repository (the spec language is docs/spec-language.md)"
