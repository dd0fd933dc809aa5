"""The one atomic-write mechanism that every file archspec writes goes through."""
from __future__ import annotations

from pathlib import Path

import pytest

from archspec.io import write_atomic, write_atomic_with


def test_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.keras"
    write_atomic(target, "good")

    def crash(tmp: Path) -> None:
        assert tmp.suffix == ".keras" and tmp.parent == tmp_path  # same folder, same suffix
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic_with(target, crash)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
