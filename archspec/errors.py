"""One root error type for everything a user can get wrong, and its formatting.

Inner code raises these; only ``archspec.cli`` turns them into messages and exit codes
(2 for the user's input, 1 for a run that failed).
"""
from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from enum import IntEnum
from typing import Any, Iterable, Sequence, TypeVar


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: 1-based line and column, as editors show them."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class Stage(IntEnum):
    """The pipeline stage that finds an error, in pipeline order.

    Errors are shown earliest stage first, since a later stage's errors are often
    consequences of an earlier one's (an unknown layer leaves its name undefined below it);
    within a stage they are shown in file order, as a compiler does.
    """

    FILE = 1          # reading the file: YAML syntax, duplicate keys, tags
    COMMAND_LINE = 2  # --set and --input
    STRUCTURE = 3     # the document's form: keys, types, one layer or block key per entry
    ARGUMENTS = 4     # values: expressions, layer arguments, block params, repeat counts
    GRAPH = 5         # names and connections: inputs, duplicates, cycles, unused layers
    SHAPES = 6        # a layer cannot take the shape it receives
    EXPECTATIONS = 7  # expect: assertions
    LIMITS = 8        # limits: budgets
    TRAIN = 9         # the train: section as training resolves it


class ArchspecError(Exception):
    """Root of archspec's errors. ``exit_code`` is what the CLI exits with.

    ``stage`` says which stage found the error; a stage that collects errors tags those its
    raise sites left untagged (``SpecErrors(errors, stage)``).
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, loc: Location | None = None,
                 stage: Stage | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.loc = loc
        self.stage = stage

    def format(self, all_errors: bool = False) -> str:
        """``file:line:col: what; how to fix``. ``all_errors`` matters to collections only.

        >>> SpecError("unknown key 'x'", "remove it", Location("net.yaml", 3, 1)).format()
        "net.yaml:3:1: unknown key 'x'; remove it"
        """
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return f"{self.loc}: {text}" if self.loc else text

    def __str__(self) -> str:
        return self.format()

    def sort_key(self) -> tuple:
        loc = self.loc or Location("")
        stage = len(Stage) + 1 if self.stage is None else int(self.stage)
        return (stage, loc.file, loc.line, loc.col, self.message)


E = TypeVar("E", bound=ArchspecError)


class SpecError(ArchspecError):
    """Something wrong in a spec file (YAML, schema, names, shapes)."""


class UserError(ArchspecError):
    """Wrong input that is not a spec: command-line values, data files, run directories."""


class RunFailure(ArchspecError):
    """Something failed while running (training diverged, disk full)."""

    exit_code = 1


class SpecErrors(ArchspecError):
    """Every error found in one pass over a file, most relevant first (see :class:`Stage`)."""

    def __init__(self, errors: Iterable[ArchspecError], stage: Stage | None = None) -> None:
        self.errors: list[ArchspecError] = sorted(at_stage(_unique(errors), stage), key=ArchspecError.sort_key)
        first = self.errors[0] if self.errors else None
        super().__init__(first.message if first else "no errors", first.hint if first else None,
                         first.loc if first else None, first.stage if first else stage)

    def format(self, all_errors: bool = False) -> str:
        shown = self.errors if all_errors else self.errors[:1]
        lines = [e.format() for e in shown]
        hidden = len(self.errors) - len(shown)
        if hidden:
            lines.append(f"({hidden} more error{'s' if hidden > 1 else ''}; "
                         "run with --all-errors to see every one)")
        return "\n".join(lines)


@dataclass(frozen=True)
class SpecWarning:
    """Something in a spec that is valid but will likely fail or surprise later (a setting Keras
    builds and some TensorFlow kernels cannot run). Not an error: validation still succeeds.

    >>> SpecWarning(Location("net.yaml", 5, 21), "dilated transposed convolution", "use 1").format()
    'net.yaml:5:21: warning: dilated transposed convolution; use 1'
    """

    loc: Location
    message: str
    hint: str

    def format(self) -> str:
        return f"{self.loc}: warning: {self.message}" + (f"; {self.hint}" if self.hint else "")


def at_stage(errors: list[E], stage: Stage | None) -> list[E]:
    """The errors, those not yet tagged now tagged with the stage that collected them."""
    for error in errors:
        if error.stage is None:
            error.stage = stage
    return errors


def _unique(errors: Iterable[ArchspecError]) -> list[ArchspecError]:
    seen: set[str] = set()
    out = []
    for error in errors:
        for e in error.errors if isinstance(error, SpecErrors) else [error]:
            key = e.format()
            if key not in seen:
                seen.add(key)
                out.append(e)
    return out


def shown(value: Any, width: int = 60) -> str:
    """A value as a message quotes it, in about ``width`` characters: a spec may hold megabytes.

    Never raises, whatever the value (Python refuses ``str`` of an integer past 4,300 digits).

    >>> shown([1, 2]), shown("x" * 100, 20)
    ('[1, 2]', "'xxxxxxxxxxxxxxx...' (100 characters)")
    >>> shown(list(range(10 ** 6)), 20), shown({"a" * 10: 1, "b": "x" * 99}, 40)
    ('[0, 1, 2, 3, ...] (1,000,000 items)', "{'aaaaaaaaaa': 1, ...} (2 items)")
    >>> shown(10 ** 100), shown(-7 ** 10 ** 5)
    ('a 101-digit integer', 'an integer of about 84,510 digits')
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= width else f"{_cut_repr(value, width)} ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        return _shown_int(value, width)
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return _shown_items(value, width)
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is still named
        return f"a {type(value).__name__}"
    return text if len(text) <= width else f"{text[:width - 3]}..."


def _cut_repr(text: str, width: int) -> str:
    """``'abc...'``: the quoted start of ``text``, at most ``width`` characters with its escapes."""
    keep = width - 5
    while keep > 1 and len(repr(text[:keep])) > width - 3:
        keep //= 2
    quoted = repr(text[:max(keep, 1)])
    return f"{quoted[:-1]}...{quoted[-1]}"


def _shown_int(value: int, width: int) -> str:
    if value.bit_length() > 14_000:  # past about 4,200 digits: str() may refuse, and is quadratic
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    text = str(value)
    return text if len(text) <= width else f"a {len(text.lstrip('-')):,}-digit integer"


def _shown_items(value: Any, width: int) -> str:
    """A list, tuple, set or mapping: its first items in ``width`` characters, then how many there are."""
    opener, closer = ("{", "}") if isinstance(value, (dict, set, frozenset)) else \
        ("(", ")") if isinstance(value, tuple) else ("[", "]")
    parts: list[str] = []
    used = 2
    for item in value.items() if isinstance(value, dict) else value:
        room = width - used - 5
        if room < 3:  # each nesting level takes room, so nested values end within ``width``
            break
        part = f"{shown(item[0], room)}: {shown(item[1], room)}" if isinstance(value, dict) else shown(item, room)
        if used + len(part) > width - 5:
            break
        parts.append(part)
        used += len(part) + 2
    if len(parts) == len(value):
        return opener + ", ".join(parts) + ("," if len(parts) == 1 and opener == "(" else "") + closer
    return f"{opener}{', '.join(parts + ['...'])}{closer} ({len(value):,} item{'s' if len(value) > 1 else ''})"


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A hint naming the closest choice, or None.

    >>> did_you_mean("Conv2d", ["Conv2D", "Dense"])
    "did you mean 'Conv2D'?"
    >>> did_you_mean("xyz", ["Conv2D"]) is None
    True
    """
    if len(word) > 3 * max(map(len, choices), default=0):
        return None  # too long to be within difflib's 0.6 ratio of any choice, and slow (quadratic) to compare
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [lowered[m] for m in get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)]
    return f"did you mean '{close[0]}'?" if close else None
