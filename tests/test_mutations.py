"""Mutated zoo specs and examples keep every promise (see tests/mutations.py): exit 0 or 2, no
traceback or internal error, every error at file:line, strict JSON, under 2 s of CPU and 1 GiB.

A fixed, derandomized budget keeps CI time steady; ``python tests/mutations.py --cases N``
runs as many more as wanted and prints the classes of failure it finds.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutations import SOURCES, Worker, mutate


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    checker = Worker()
    yield checker
    checker.close()


def test_every_zoo_spec_and_example_is_a_source() -> None:
    names = {p.name for p in SOURCES}
    assert {"resnet50.yaml", "densenet121.yaml", "residual-block.yaml"} <= names and len(names) >= 25


def test_the_unmutated_sources_pass(worker: Worker) -> None:
    for source in SOURCES:
        assert worker.check(source.read_text(encoding="utf-8")) == [], source.name


def test_the_checker_catches_what_it_looks_for(worker: Worker) -> None:
    """The checks can fail: an unlocated error and a non-zero exit are flagged."""
    from mutations import COMMANDS, problems_of

    validate, summary = COMMANDS["validate"], COMMANDS["summary"]
    unlocated = problems_of("x.yaml", validate, 2, "", "something went wrong\n", None, 0.1)
    assert unlocated and "without file:line" in unlocated[0]
    assert problems_of("x.yaml", validate, 2, "", "y.yaml:3:1: elsewhere; fix it\n", None, 0.1)
    assert problems_of("x.yaml", validate, 1, "", "x.yaml:1:1: internal error: boom\n", None, 0.1)
    assert problems_of("x.yaml", summary, 0, '{"a": NaN}', "", None, 0.1)
    assert problems_of("x.yaml", summary, 0, "{}", "", None, 2.5)
    assert problems_of("x.yaml", validate, 0, "", "", RecursionError(), 0.1)
    assert problems_of("x.yaml", validate, 2, "", "x.yaml:3:1: bad; fix it\n", None, 0.1) == []


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(source=st.sampled_from(SOURCES), rng=st.randoms(use_true_random=False))
def test_mutated_specs_keep_their_promises(worker: Worker, source: Path, rng: random.Random) -> None:
    case = mutate(rng, source)
    problems = worker.check(case.text)
    assert problems == [], f"{case.source} after {case.steps}:\n" + "\n".join(problems)
