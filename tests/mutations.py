"""Mutated zoo specs and the promises every one of them must keep.

A mutation takes a zoo spec or an example and breaks it the way generated or hostile input
does: types swapped, keys deleted, extreme numbers, expressions that overflow or never end,
YAML tricks (alias bombs, recursive aliases, deep nesting, tags), huge repeats and inputs.
Each mutated spec runs through ``archspec validate --all-errors`` and ``archspec summary
--format json`` in a worker process whose address space is capped, and must:

- exit 0 or 2, with no traceback and no internal error;
- start every error line with ``file:line:``;
- print JSON that is strict (no NaN or Infinity) when summary succeeds;
- take under 2 s of CPU and stay under 1 GiB (the cap turns more into a MemoryError).

``tests/test_mutations.py`` runs a fixed budget of them; run many more by hand with
``python tests/mutations.py --cases 5000`` (classes of failure are printed with counts).
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
CPU_SECONDS = 2.0
MEMORY_BYTES = 1 << 30
HANG_SECONDS = 30.0
# The commands each mutated spec runs through; the suite uses the first two, --commands adds others.
COMMANDS = {"validate": ("validate", "--all-errors"), "summary": ("summary", "--format", "json", "--all-errors"),
            "table": ("summary", "--all-errors"), "explain": ("explain", "--all-errors"),
            "graph": ("graph", "--format", "svg", "--layout", "builtin", "--all-errors")}
DEFAULT_COMMANDS = ("validate", "summary")
_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>[1-9][0-9]*):(?P<col>[0-9]+): ")
_MORE = re.compile(r"^\(\d+ more errors?; run with --all-errors to see every one\)$")

# ---------------------------------------------------------------- hostile values
NUMBERS: list[Any] = [0, -1, 1, 2, -(10 ** 30), 10 ** 30, 2 ** 63, 1e308, -1e308, 1e-308, 0.5, -0.0,
                      float("inf"), float("-inf"), float("nan"), 10 ** 4000]
EXPRESSIONS = [
    "${2**10**10}", "${9**9**9}", "${'a'*10**9}", "${1e308*10}", "${2.5**1000}", "${(-1)**0.5}",
    "${10**4301}", "${int(1e308)}", "${float(10**400)}", "${round(1e308)}", "${ceil(1e308*10)}",
    "${floor(-1e308*10)}", "${int(1e308*10)}", "${int(1e308*10 - 1e308*10)}", "${2**-2000}",
    "${0**-1}", "${1/0}", "${1 // 0.0}", "${10**20 % 0}", "${((10**64)**64)**64}",
    "${(((10**64)**64)**64)**64}", "${10**64 * 10**64 * 10**64 * 10**64 * 10**64}",
    "${'ab' * 100000}", "${'x' * -1}", "${-'x'}", "${[1] * 10}", "${min()}", "${max(1)}",
    "${round(1.5, 10**9)}", "${round(1e308, -10**9)}", "${abs(-10**400)}", "${1 if 2 else}",
    "${" + "+".join(["1"] * 100000) + "}", "${" + "(" * 2000 + "1" + ")" * 2000 + "}",
    "${" + "-" * 100000 + "1}", "${" + "not " * 50000 + "1}", "${" + " if 1 else ".join(["1"] * 3000) + "}",
    "${" + "*".join(["2"] * 5000) + "}", "${" + "**".join(["2"] * 6) + "}", "${2**64**2}",
    "${1e308 ** 2}", "${(-8) ** (1/3)}", "${10.0 ** 400}", "${int('9' * 5000)}", "${float('inf')}",
    "${float('nan')}", "${float('1e400')}", "${True * 3}", "${None}", "${-0.0}", "${3 < 'a'}",
    "$undefined", "${undefined + 1}", "${__import__('os')}", "${().__class__}", "${lambda: 1}",
    "${x}" * 2000, "$$", "${", "${}", "${{}}", "${a.b}", "${(yield)}", "${f'{1}'}",
    "${1e308 - -1e308}", "${10**300 / 10**-300}", "${10**400 / 3}", "${10**400 // 3.0}",
    "${10**400 > 1.5}", "${max(10**400, 1e308)}", "${min(1, 'a')}", "${abs('a')}",
]
YAML_TRICKS = [
    # billion laughs: nine levels of ten aliases each, 10**9 nodes once expanded
    "[" + ", ".join([f"&l0 [{', '.join(['lol'] * 10)}]"] +
                    [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]) + "]",
    "&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]",
    "[" * 100000 + "]" * 100000, "{a: " * 20000 + "1" + "}" * 20000, "[" * 800 + "]" * 800,
    "!!python/object:os.system ls", "!!python/name:os.system", "!custom value", "!!binary aGVsbG8=",
    "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2001-12-14", "!!int abc", "!!float 1.5.5", "!!str 3",
    "*undefined", "&a 1", "{<<: [1, 2]}", "{<<: {}}", "'" + "x" * 1000000 + "'", "\"\\x00\"", "\"\\ud800\"",
    "[1, 2", "{a: 1", "@reserved", "`tick", "%directive",
]
SWAPS: list[Any] = ["text", "", "same", 3, 2.5, True, False, None, [1, 2], [], {}, {"a": 1}, [[[]]], "Flatten",
                    {"Conv2D": {}}, "previous", "in", "input"]
REPEATS: list[Any] = [0, 1, 2, -1, 10 ** 7, 10 ** 9, 10 ** 30, "${10**9}", "${10**7}", 1.5, True, None, "x",
                      "${2**64}", "${-1}", [3]]
INPUTS: list[Any] = [[10 ** 6, 10 ** 6, 3], [10 ** 30, 10 ** 30, 3], [10 ** 9, 10 ** 9, 10 ** 9], [1, 1, 1],
                     [0, 8, 3], [-8, 8, 3], [8.5, 8, 3], [None, None, 3], [], [8], [8] * 40, [2 ** 63, 1, 1],
                     [1e308, 1e308, 3], ["${10**9}", 224, 3]]
TRICK = "__archspec_trick__"


@dataclass
class Case:
    """One mutated spec: where it came from, what was done to it, and its text."""

    source: str
    steps: list[str]
    text: str


def _paths(data: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, path + (i,))
    return out


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _entries(data: Any) -> list[tuple]:
    """Paths of every layer entry (top level and inside blocks) that is a mapping."""
    return [p for p in _paths(data) if len(p) >= 2 and p[-2] == "layers" and isinstance(p[-1], int)
            and isinstance(_get(data, p), dict)]


def _replace(rng: random.Random, data: Any, pool: list[Any], label: str) -> tuple[Any, str]:
    path = rng.choice(_paths(data))
    value = rng.choice(pool)
    return _set(data, path, value), f"{label} {_short(value)} at {_dotted(path)}"


def _delete(rng: random.Random, data: Any) -> tuple[Any, str]:
    paths = [p for p in _paths(data) if p]
    if not paths:
        return data, "nothing to delete"
    path = rng.choice(paths)
    parent = _get(data, path[:-1])
    del parent[path[-1]]
    return data, f"delete {_dotted(path)}"


def _non_empty(data: Any, container: type) -> list[tuple]:
    """The paths of every non-empty list (or mapping) in ``data``."""
    return [p for p in _paths(data) if isinstance(_get(data, p), container) and _get(data, p)]


def _duplicate(rng: random.Random, data: Any) -> tuple[Any, str]:
    lists = _non_empty(data, list)
    if not lists:
        return data, "nothing to duplicate"
    path = rng.choice(lists)
    items = _get(data, path)
    i = rng.randrange(len(items))
    items.insert(i, json.loads(json.dumps(items[i], default=str)) if _jsonable(items[i]) else items[i])
    return data, f"duplicate {_dotted(path + (i,))}"


def _repeat(rng: random.Random, data: Any) -> tuple[Any, str]:
    entries = _entries(data)
    if not entries:
        return data, "no entry to repeat"
    path = rng.choice(entries)
    value = rng.choice(REPEATS)
    _get(data, path)["repeat"] = value
    return data, f"repeat {_short(value)} at {_dotted(path)}"


def _input(rng: random.Random, data: Any) -> tuple[Any, str]:
    if not isinstance(data, dict):
        return data, "no input"
    value = list(rng.choice(INPUTS))
    if "inputs" in data and isinstance(data["inputs"], dict) and data["inputs"]:
        name = rng.choice(list(data["inputs"]))
        data["inputs"][name] = value
    else:
        data["input"] = value
    return data, f"input {_short(value)}"


def _var(rng: random.Random, data: Any) -> tuple[Any, str]:
    """An expression or extreme number as a var or block param, where it flows everywhere."""
    value = rng.choice(EXPRESSIONS + NUMBERS)
    targets = [p for p in _paths(data) if len(p) >= 2 and (p[-2] == "vars" or p[-2] == "params")]
    if not targets:
        return _replace(rng, data, [value], "set")
    path = rng.choice(targets)
    return _set(data, path, value), f"set {_short(value)} at {_dotted(path)}"


def _trick(rng: random.Random, data: Any) -> tuple[Any, str]:
    """A placeholder that ``mutate`` replaces by the trick's text once the data is dumped."""
    path = rng.choice(_paths(data))
    index = rng.randrange(len(YAML_TRICKS))
    return _set(data, path, f"{TRICK}{index}_"), f"YAML {_short(YAML_TRICKS[index])} at {_dotted(path)}"


def _rename_key(rng: random.Random, data: Any) -> tuple[Any, str]:
    """A key renamed, to a misspelling, another key's name or a key that is not text."""
    maps = _non_empty(data, dict)
    if not maps:
        return data, "no key to rename"
    path = rng.choice(maps)
    mapping = _get(data, path)
    old = rng.choice(list(mapping))
    new = rng.choice([str(old).upper(), str(old)[:-1], f"{old}s", 1, None, True, 2.5, "repeat", "inputs", "name",
                      "expect", "layers", "in", "previous", ""])
    rebuilt = {(new if k == old else k): v for k, v in mapping.items()}
    return _set(data, path, rebuilt), f"rename key {_dotted(path + (old,))} to {new!r}"


def _swap_kind(rng: random.Random, data: Any) -> tuple[Any, str]:
    """A layer's type replaced by another registered kind (or a block), its arguments kept."""
    from archspec.layers.catalog import all_kinds

    entries = _entries(data)
    if not entries:
        return data, "no entry"
    path = rng.choice(entries)
    entry = _get(data, path)
    keys = [k for k in entry if k not in ("name", "inputs", "repeat", "expect")]
    if not keys:
        return data, "no layer key"
    blocks = list(data.get("blocks") or {}) if isinstance(data, dict) else []
    kind = rng.choice(sorted(all_kinds()) + blocks)
    rebuilt = {(kind if k == keys[0] else k): v for k, v in entry.items()}
    return _set(data, path, rebuilt), f"kind {kind} at {_dotted(path)}"


def _reference(rng: random.Random, data: Any) -> tuple[Any, str]:
    """An entry's inputs (or the outputs) pointed at other, missing or odd names."""
    names = [e.get("name") for p in _entries(data) for e in [_get(data, p)] if e.get("name")]
    pool = names + ["previous", "in", "input", "missing", "", 3, None, [], ["previous", "previous"], names[:5]]
    value = rng.choice(pool)
    entries = _entries(data)
    if entries and rng.random() < 0.8:
        path = rng.choice(entries)
        _get(data, path)["inputs"] = value
        return data, f"inputs {_short(value)} at {_dotted(path)}"
    if not isinstance(data, dict):
        return data, "no outputs"
    data["outputs"] = value
    return data, f"outputs {_short(value)}"


MUTATIONS: list[Callable[[random.Random, Any], tuple[Any, str]]] = [
    lambda r, d: _replace(r, d, NUMBERS, "number"),
    lambda r, d: _replace(r, d, EXPRESSIONS, "expression"),
    lambda r, d: _replace(r, d, SWAPS, "swap"),
    _delete, _duplicate, _repeat, _input, _var, _trick, _rename_key, _swap_kind, _reference,
]


def mutate(rng: random.Random, source: Path) -> Case:
    """One to three mutations of a source spec's data, dumped back to YAML; or edits of its text
    as written (comments, anchors and flow style kept) that break the YAML itself."""
    from archspec.spec.load import load_text

    written = source.read_text(encoding="utf-8")
    if rng.random() < 0.2:
        text, steps = written, []
        for _ in range(rng.choice((1, 1, 2))):
            text, step = _edit_text(rng, text)
            steps.append(step)
        return Case(source.name, steps, text)
    data = load_text(written, str(source)).data
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        data, step = rng.choice(MUTATIONS)(rng, data)
        steps.append(step)
    text = yaml.safe_dump(data, sort_keys=False, width=1 << 30, allow_unicode=True)
    text = re.sub(rf"{TRICK}(\d+)_", lambda m: YAML_TRICKS[int(m.group(1))], text)
    return Case(source.name, steps, text)


TEXT_INSERTS = [":", "- ", "[", "]", "{", "}", "&a ", "*a", "!", "|", ">", "'", '"', "#", "%", "@", "`", "\t", "\x00",
                "\ufeff", "\n", "\r\n", "${", "$", "\u2028", "\x85", ": {", "<<: ", "? ", "---\n", "...\n"]


def _edit_text(rng: random.Random, text: str) -> tuple[str, str]:
    """One edit of the text: cut it short, drop or insert characters, shift a line, change line ends."""
    at = rng.randrange(len(text) + 1)
    line = text.count("\n", 0, at) + 1
    choice = rng.randrange(7)
    if choice == 0:
        return text[:at], f"cut at line {line}"
    if choice == 1:
        n = rng.choice((1, 1, 2, 10))
        return text[:at] + text[at + n:], f"delete {n} characters at line {line}"
    if choice == 2:
        insert = rng.choice(TEXT_INSERTS)
        return text[:at] + insert + text[at:], f"insert {insert!r} at line {line}"
    if choice == 3:
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines[i] = rng.choice(("  ", " ", "\t", "")) + lines[i] if rng.random() < 0.7 else lines[i].lstrip()
        return "\n".join(lines), f"indent line {i + 1}"
    if choice == 4:
        return text.replace("\n", rng.choice(("\r\n", "\r"))), "other line ends"
    if choice == 5:
        return rng.choice(("\ufeff", "---\n", "%YAML 1.2\n---\n", "%TAG ! tag:x,2000:\n---\n")) + text, "a prefix"
    return text + rng.choice(("---\nname: second\n", "...\n", "\x00", "  - Dense: {units: 2}\n", "\n" * 5000)), \
        "a suffix"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, int) or abs(value) < 10 ** 40 \
        else f"<int of {len(str(abs(value)))} digits>"
    return text if len(text) <= 60 else f"{text[:40]}...<{len(text)} chars>"


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path)) or "<root>"


# ---------------------------------------------------------------- checking one spec
def problems_of(path: str, argv: tuple[str, ...], exit_code: int, stdout: str, stderr: str,
                exception: Optional[BaseException], cpu: float) -> list[str]:
    """What a finished command did wrong (nothing, for a correct run)."""
    found = []
    command = argv[0]
    if exception is not None and not isinstance(exception, SystemExit):
        found.append(f"{command}: raised {type(exception).__name__}: {str(exception)[:200]}")
    if exit_code not in (0, 2):
        found.append(f"{command}: exit {exit_code}")
    for marker in ("Traceback", "internal error"):
        if marker in stderr or marker in stdout:
            found.append(f"{command}: {marker}: {_first_line_with(marker, stdout + stderr)[:300]}")
    if exit_code == 2:
        for line in stderr.splitlines():
            match = _LOCATED.match(line)
            if not (match and match.group("file") == path) and not _MORE.match(line):
                found.append(f"{command}: error without file:line: {line[:300]}")
    if exit_code == 0 and argv[:3] == ("summary", "--format", "json"):
        try:
            json.loads(stdout, parse_constant=_refuse_constant)
        except ValueError as exc:
            found.append(f"summary: output is not strict JSON: {str(exc)[:200]}")
    if cpu > CPU_SECONDS:
        found.append(f"{command}: took {cpu:.1f} s of CPU")
    return found


def _first_line_with(marker: str, text: str) -> str:
    return next((line for line in text.splitlines() if marker in line), marker)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _run_commands(text: str, path: str, commands: tuple[str, ...]) -> list[str]:
    """The commands on one spec text, in this process (the worker's)."""
    import time

    from click.testing import CliRunner

    from archspec.cli import main

    Path(path).write_text(text, encoding="utf-8")
    found = []
    for argv in (COMMANDS[c] for c in commands):
        start = time.process_time()
        result = CliRunner().invoke(main, [*argv, path])
        cpu = time.process_time() - start
        found += problems_of(path, argv, result.exit_code, result.stdout, result.stderr, result.exception, cpu)
    return found


def _worker(commands: tuple[str, ...]) -> None:
    """Read cases (JSON lines) on stdin and answer each with its problems, under a memory cap."""
    import resource
    import sys as _sys

    _sys.setrecursionlimit(max(_sys.getrecursionlimit(), 1000))
    import archspec.cli  # noqa: F401 - imported before the cap, so the cap measures the spec's cost

    with open("/proc/self/statm") as statm:
        baseline = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (baseline + MEMORY_BYTES, resource.RLIM_INFINITY))
    path = str(Path(tempfile.mkdtemp(prefix="archspec-mut-")) / "mutated.yaml")
    for line in _sys.stdin:
        text = json.loads(line)["text"]
        try:
            found = _run_commands(text, path, commands)
        except MemoryError:
            found = ["over 1 GiB (MemoryError outside the CLI)"]
        found = [f.replace("MemoryError", "MemoryError (over 1 GiB)") for f in found]
        _sys.stdout.write(json.dumps({"problems": found}) + "\n")
        _sys.stdout.flush()
        if any("MemoryError" in f for f in found):
            return  # a fresh worker for the next spec: this one's heap may be left fragmented


class Worker:
    """A worker process that checks specs one by one; restarted after a hang or a crash."""

    def __init__(self, commands: tuple[str, ...] = DEFAULT_COMMANDS) -> None:
        self.process: Optional[subprocess.Popen] = None
        self.commands = commands

    def _start(self) -> subprocess.Popen:
        import os

        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker",
                                 "--commands", ",".join(self.commands)], cwd=str(ROOT), env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def check(self, text: str, timeout: float = HANG_SECONDS) -> list[str]:
        import select

        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin and self.process.stdout
        try:
            self.process.stdin.write(json.dumps({"text": text}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.close()
            return ["worker died before reading the spec"]
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        answer = self.process.stdout.readline() if ready else ""
        if not answer:
            code = self.process.poll()
            self.close()
            return [f"hang: no answer within {timeout:.0f} s" if code is None else f"worker died (exit {code})"]
        return json.loads(answer)["problems"]

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None


# ---------------------------------------------------------------- by hand: classes of failure
def failure_class(problem: str) -> str:
    """A problem with its specifics (numbers, quoted values, paths) taken out, to group alike ones."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", problem)
    text = re.sub(r"[-+]?\d[\d.e+-]*", "N", text)
    text = re.sub(r"^.*?mutated\.yaml", "FILE", text)
    return text[:160]


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default="/tmp/archspec-mutation-failures.jsonl")
    parser.add_argument("--hang", type=float, default=HANG_SECONDS, help="seconds before a spec counts as a hang")
    parser.add_argument("--commands", default=",".join(DEFAULT_COMMANDS), help=f"some of {', '.join(COMMANDS)}")
    args = parser.parse_args()
    commands = tuple(args.commands.split(","))
    if args.worker:
        _worker(commands)
        return
    sys.path.insert(0, str(ROOT))
    worker, classes = Worker(commands), collections.Counter()
    examples: dict[str, dict] = {}
    with open(args.save, "w") as saved:
        for i in range(args.cases):
            rng = random.Random(args.seed * 1_000_003 + i)
            case = mutate(rng, rng.choice(SOURCES))
            for problem in worker.check(case.text, args.hang):
                key = failure_class(problem)
                classes[key] += 1
                if key not in examples:
                    examples[key] = {"case": i, "source": case.source, "steps": case.steps, "problem": problem}
                    saved.write(json.dumps({**examples[key], "text": case.text}) + "\n")
            if (i + 1) % 250 == 0:
                print(f"{i + 1} cases, {sum(classes.values())} problems in {len(classes)} classes", file=sys.stderr)
    worker.close()
    for key, count in classes.most_common():
        example = examples[key]
        print(f"{count:6d}  {key}\n        e.g. case {example['case']} {example['source']}: {example['steps']}\n"
              f"        {example['problem'][:300]}")


if __name__ == "__main__":
    _main()
