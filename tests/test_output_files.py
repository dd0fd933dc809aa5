"""Each command that writes a file goes through archspec.io's contract (tests/test_io.py tests
every guarantee once): it never overwrites its input, replaces an existing file only with
--force, replaces a link itself, and takes ``-o -`` as standard output."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.errors import UserError
from archspec.io import EXISTS_HINT

ROOT = Path(__file__).resolve().parent.parent
TINY = "archspec: 1\nname: tiny\ninput: [4]\nlayers:\n  - Dense: {units: 3}\n  - ReLU\n  - Dense: {units: 2}\n"


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_graph_never_overwrites_its_own_spec(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_bytes((ROOT / "examples" / "residual-block.yaml").read_bytes())
    before = spec.read_bytes()
    for extra in ([], ["--force"]):
        result = _invoke("graph", str(spec), "--format", "dot", "-o", str(spec), *extra)
        assert result.exit_code == 2
        assert result.stderr == f"{spec} is an input of this command, which must not overwrite what it reads; " \
                                "choose another file with -o\n"
    assert spec.read_bytes() == before


def test_build_replaces_an_existing_file_only_with_force(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    target = tmp_path / "tiny.keras"
    target.write_bytes(b"my own model")
    result = _invoke("build", str(spec), "-o", str(target))
    assert result.exit_code == 2 and result.stderr == f"{target} already exists; {EXISTS_HINT}\n"
    assert target.read_bytes() == b"my own model"
    result = _invoke("build", str(spec), "-o", str(target), "--force")
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:2] == b"PK" and [p.name for p in tmp_path.iterdir()] == sorted(["tiny.yaml",
                                                                                               "tiny.keras"])


def test_schema_dash_is_standard_output(tmp_path: Path) -> None:
    from archspec.spec.schema import published_schema

    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        result = runner.invoke(main, ["schema", "-o", "-"], catch_exceptions=False)
        assert result.exit_code == 0 and json.loads(result.stdout) == published_schema()
        assert not Path("-").exists()


def test_export_refuses_an_existing_file_and_its_run_directory(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    from archspec.train.export import export_model

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_config.json").write_text("{}")
    mine = tmp_path / "model.tflite"
    mine.write_bytes(b"my own export")
    with pytest.raises(UserError, match=f"^{mine} already exists; "):
        export_model(model, "tflite", mine, [run])
    with pytest.raises(UserError, match=f"^{run} is an input of this command"):
        export_model(model, "savedmodel", run, [run], force=True)
    assert mine.read_bytes() == b"my own export" and [p.name for p in run.iterdir()] == ["train_config.json"]


def test_new_replaces_a_link_itself_and_writes_dash_to_standard_output(tmp_path: Path) -> None:
    victim = tmp_path / "victim.yaml"
    victim.write_text("my own work\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(victim)
    result = _invoke("new", "lenet5", "-o", str(link))
    assert result.exit_code == 2 and result.stderr.startswith(f"{link} is a symbolic link; ")
    assert _invoke("new", "lenet5", "-o", str(link), "--force").exit_code == 0
    assert not link.is_symlink() and "name: lenet5" in link.read_text() and victim.read_text() == "my own work\n"
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        result = runner.invoke(main, ["new", "lenet5", "-o", "-"], catch_exceptions=False)
        assert result.exit_code == 0 and "name: lenet5" in result.stdout and "wrote" not in result.stdout
        assert not Path("-").exists()
