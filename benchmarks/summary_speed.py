"""How fast `archspec summary` is, cold, against Keras building and summarising the same model.

    python benchmarks/summary_speed.py            # print the results
    python benchmarks/summary_speed.py --write    # also rewrite benchmarks/RESULTS_summary.md

1. Cold `archspec summary specs/resnet50.yaml` (a new Python process each run, as a user runs
   it) against `python -c "import keras; keras.applications.ResNet50(weights=None).summary()"`;
   medians of several runs; the ratio (target: at least 20x).
2. Summary time of generated chains of 100, 1,000 and 10,000 layers (Conv2D and ReLU in turn):
   cold process time, and the in-process time of each stage (load+validate+lower+analyse, the
   analysis passes, the table), which must grow linearly; 1,000 layers must take under 1 s.
3. Generated specs of any size: ``repeat: 100000`` of one Dense layer, and a 3-layer block
   (Conv2D, BatchNormalization, ReLU) used with ``repeat: 4000``; cold time and peak memory
   (the process's maximum resident set) of ``validate``, ``summary`` as a table, with
   ``--depth 0`` and as JSON (targets: a few seconds, well under 300 MB).

Both sides run with this interpreter (`sys.executable`); archspec is started the way its
console script starts it, without a shell wrapper in between.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
ARCHSPEC = [sys.executable, "-c", "import sys; from archspec.cli import main; sys.exit(main())"]
KERAS = [sys.executable, "-c", "import keras; keras.applications.ResNet50(weights=None).summary()"]
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def cold(command: Sequence[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh processes (output discarded, failure raised)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=QUIET, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


STARTUP = [("Python itself (`python -c pass`)", "pass"),
           ("+ click and PyYAML", "import click, yaml"),
           ("+ jsonschema", "import click, yaml, jsonschema"),
           ("+ every archspec module `summary` imports", "import archspec.cli, archspec.api, archspec.analysis.report, "
                                                         "archspec.analysis.passes")]


def startup(runs: int) -> list[tuple[str, float]]:
    """Median cold time of importing what `summary` imports, piece by piece."""
    return [(label, statistics.median(cold([sys.executable, "-c", code], runs))) for label, code in STARTUP]


def chain_spec(n: int) -> str:
    """A spec of ``n`` layers: 3x3 convolutions and ReLUs in turn on a 32x32x8 map."""
    lines = ["archspec: 1", f"name: chain{n}", "input: [32, 32, 8]", "layers:"]
    for i in range(n):
        lines.append("  - Conv2D: {filters: 8, kernel_size: 3, padding: same}" if i % 2 == 0 else "  - ReLU")
    return "\n".join(lines) + "\n"


def dense_spec(n: int) -> str:
    """``repeat: n`` of one Dense layer on a vector of 8."""
    return f"archspec: 1\nname: dense{n}\ninput: [8]\nlayers:\n  - Dense: {{units: 4}}\n    repeat: {n}\n"


def block_spec(n: int) -> str:
    """A block of 3 layers (3x3 convolution, batch normalization, ReLU) used ``n`` times."""
    return (f"archspec: 1\nname: blocks{n}\ninput: [8, 8, 4]\nblocks:\n  cbr:\n    layers:\n"
            "      - Conv2D: {filters: 4, kernel_size: 3, padding: same}\n      - BatchNormalization\n      - ReLU\n"
            f"layers:\n  - cbr:\n    repeat: {n}\n")


# archspec as its console script starts it, writing its peak resident memory (VmHWM, Linux)
# to the file named by $PEAK_FILE as it exits. The peak is read inside the process: a child's
# ru_maxrss starts from its parent's (subprocess forks this benchmark, already large).
PEAK_CODE = ("import atexit, os, re, sys\n"
             "def peak():\n"
             "    text = open('/proc/self/status').read()\n"
             "    open(os.environ['PEAK_FILE'], 'w').write(re.search(r'VmHWM:\\s*(\\d+)', text).group(1))\n"
             "atexit.register(peak)\n"
             "from archspec.cli import main; sys.exit(main())")


def peak(args: Sequence[str], tmp: str) -> tuple[float, float]:
    """Wall-clock seconds and peak resident memory (MB) of one fresh ``archspec ARGS`` process."""
    peak_file = Path(tmp) / "peak.txt"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PEAK_CODE, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env={**QUIET, "PEAK_FILE": str(peak_file)}, cwd=ROOT)
    elapsed = time.perf_counter() - start
    return elapsed, int(peak_file.read_text()) / 1024  # kB


LARGE = [("100,000 Dense layers (`repeat: 100000`)", dense_spec(100_000)),
         ("4,000 uses of a 3-layer block (12,000 layers)", block_spec(4_000))]
LARGE_COMMANDS = [("validate", ["validate"]), ("summary", ["summary"]), ("summary --depth 0", ["summary", "--depth", "0"]),
                  ("summary --format json", ["summary", "--format", "json"])]


def large(runs: int = 3) -> list[tuple[str, str, float, float]]:
    """(spec, command, median seconds, peak MB) of each command on each large spec."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, text in LARGE:
            path = Path(tmp) / "large.yaml"
            path.write_text(text)
            for name, args in LARGE_COMMANDS:
                samples = [peak(args + [str(path)], tmp) for _ in range(runs)]
                rows.append((label, name, statistics.median(t for t, _ in samples), max(m for _, m in samples)))
    return rows


def stages(path: Path, runs: int = 3) -> dict[str, float]:
    """Median in-process seconds of each stage of `summary` (imports already done)."""
    from archspec.analysis import report
    from archspec.analysis.passes import run_passes
    from archspec.api import compile_spec

    samples: dict[str, list[float]] = {"compile": [], "passes": [], "table": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        compiled = compile_spec(path)
        t1 = time.perf_counter()
        passed = run_passes(compiled.analysis)
        t2 = time.perf_counter()
        report.table(passed)
        t3 = time.perf_counter()
        for key, value in zip(samples, (t1 - t0, t2 - t1, t3 - t2)):
            samples[key].append(value)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    medians["total"] = sum(medians.values())
    return medians


def run(runs: int, keras_runs: int) -> str:
    """Measure everything; the results as Markdown."""
    ours = cold(ARCHSPEC + ["summary", "specs/resnet50.yaml"], runs)
    theirs = cold(KERAS, keras_runs)
    ratio = statistics.median(theirs) / statistics.median(ours)
    imports = startup(runs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (100, 1000, 10000):
            path = Path(tmp) / f"chain{n}.yaml"
            path.write_text(chain_spec(n))
            process = statistics.median(cold(ARCHSPEC + ["summary", str(path)], 3))
            rows.append((n, process, stages(path)))
    return report_text(ours, theirs, ratio, rows, imports, large())


def report_text(ours: list[float], theirs: list[float], ratio: float, rows: list,
                imports: list[tuple[str, float]], large_rows: list[tuple[str, str, float, float]]) -> str:
    """The results as Markdown (what --write saves)."""
    from importlib.metadata import version

    env = (f"Python {platform.python_version()}, Keras {version('keras')}, {os.cpu_count()} CPU "
           f"cores, {platform.machine()}, {platform.system()}")
    head = ["# `archspec summary` speed", "", f"Measured by `python benchmarks/summary_speed.py --write` ({env}).", ""]
    return "\n".join(head + _resnet_section(ours, theirs, ratio, imports) + _chain_section(rows)
                     + _large_section(large_rows))


def _resnet_section(ours: list[float], theirs: list[float], ratio: float, imports: list[tuple[str, float]]) -> list[str]:
    lines = ["## Cold summary of ResNet-50 against Keras", "",
             "| command | median | runs (s) |", "|---|---:|---|",
             f"| `archspec summary specs/resnet50.yaml` | {statistics.median(ours):.3f} s | "
             f"{', '.join(f'{t:.3f}' for t in ours)} |",
             f"| `keras.applications.ResNet50(weights=None).summary()` | {statistics.median(theirs):.2f} s | "
             f"{', '.join(f'{t:.2f}' for t in theirs)} |", "",
             f"**Ratio: {ratio:.1f}x** (target: at least 20x).", "",
             "Where a cold summary's time goes (median process times; the rest is the work itself):", "",
             "| process | median |", "|---|---:|"]
    lines += [f"| {label} | {t:.3f} s |" for label, t in imports]
    rest = max(statistics.median(ours) - imports[-1][1], 0)
    return lines + ["", f"The work itself (load, validate, lower, analyse, passes, table) is the remaining "
                        f"{rest:.3f} s.", ""]


def _chain_section(rows: list) -> list[str]:
    lines = ["## Generated chains (Conv2D and ReLU in turn)", "",
             "| layers | cold process | in-process total | compile | passes | table | per layer |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for n, process, s in rows:
        lines.append(f"| {n:,} | {process:.3f} s | {s['total']:.3f} s | {s['compile']:.3f} s | {s['passes']:.3f} s | "
                     f"{s['table']:.3f} s | {1e6 * s['total'] / n:.0f} us |")
    (_, _, s1), (_, cold_1000, s2), (_, _, s3) = rows
    return lines + ["", f"Growth of the in-process time: x{s2['total'] / s1['total']:.1f} from 100 to 1,000 layers, "
                        f"x{s3['total'] / s2['total']:.1f} from 1,000 to 10,000 (linear: x10). "
                        f"1,000 layers: {cold_1000:.2f} s cold (target: under 1 s).", ""]


def _large_section(rows: list[tuple[str, str, float, float]]) -> list[str]:
    lines = ["## Generated specs of any size (cold processes, median of 3; memory: peak resident set)", "",
             "| spec | command | time | peak memory |", "|---|---|---:|---:|"]
    lines += [f"| {spec} | `archspec {command}` | {t:.2f} s | {mb:.0f} MB |" for spec, command, t, mb in rows]
    return lines + ["", "Targets: a few seconds, well under 300 MB.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="cold archspec runs (default 7)")
    parser.add_argument("--keras-runs", type=int, default=3, help="cold Keras runs (default 3)")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/RESULTS_summary.md")
    args = parser.parse_args()
    text = run(args.runs, args.keras_runs)
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "RESULTS_summary.md").write_text(text)


if __name__ == "__main__":
    main()
