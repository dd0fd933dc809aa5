"""One root error type for everything a user can get wrong, and its formatting.

Inner code raises these; only ``archspec.cli`` turns them into messages and exit codes
(2 for the user's input, 1 for a run that failed).
"""
from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Iterable, Sequence


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


class ArchspecError(Exception):
    """Root of archspec's errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, loc: Location | None = None,
                 rank: int = 50) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.loc = loc
        # Rank <= 10 marks problems with the file as a whole (YAML, version, missing keys), shown
        # first; the others are shown in file order, as a compiler does.
        self.rank = rank

    def format(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return f"{self.loc}: {text}" if self.loc else text

    def __str__(self) -> str:
        return self.format()

    def sort_key(self) -> tuple:
        loc = self.loc or Location("")
        return (self.rank > 10, loc.file, loc.line, loc.col, self.rank, self.message)


class SpecError(ArchspecError):
    """Something wrong in a spec file (YAML, schema, names, shapes)."""


class UserError(ArchspecError):
    """Wrong input that is not a spec: command-line values, data files, run directories."""


class RunFailure(ArchspecError):
    """Something failed while running (training diverged, disk full)."""

    exit_code = 1


class SpecErrors(ArchspecError):
    """Every error found in one pass over a file, most relevant first."""

    def __init__(self, errors: Iterable[ArchspecError]) -> None:
        self.errors: list[ArchspecError] = sorted(_unique(errors), key=ArchspecError.sort_key)
        first = self.errors[0] if self.errors else None
        super().__init__(first.message if first else "no errors", first.hint if first else None,
                         first.loc if first else None)

    def format(self, all_errors: bool = False) -> str:
        shown = self.errors if all_errors else self.errors[:1]
        lines = [e.format() for e in shown]
        hidden = len(self.errors) - len(shown)
        if hidden:
            lines.append(f"({hidden} more error{'s' if hidden > 1 else ''}; "
                         "run with --all-errors to see every one)")
        return "\n".join(lines)


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


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A hint naming the closest choice, or None.

    >>> did_you_mean("Conv2d", ["Conv2D", "Dense"])
    "did you mean 'Conv2D'?"
    >>> did_you_mean("xyz", ["Conv2D"]) is None
    True
    """
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [lowered[m] for m in get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)]
    return f"did you mean '{close[0]}'?" if close else None
