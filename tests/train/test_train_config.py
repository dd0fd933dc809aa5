"""The train: schema and config resolution: pure Python, no TensorFlow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import numpy as np
import pytest

from archspec.errors import SpecErrors, UserError
from archspec.spec.load import load_text
from archspec.train.config import config_from_dict, config_to_dict, parse_data_flag, resolve_config
from archspec.train.schema import TRAIN_SCHEMA
from archspec.train.synthetic_shapes import make_shapes
from train_testkit import ROOT


def _properties(schema: Any, path: str = "train") -> Iterator[tuple[str, dict]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
            yield from _properties(sub, f"{path}.{name}")
        for key in ("oneOf", "anyOf"):
            for i, sub in enumerate(schema.get(key, [])):
                yield from _properties(sub, f"{path}[{i}]")
        if isinstance(schema.get("items"), dict):
            yield from _properties(schema["items"], f"{path}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            yield from _properties(schema["additionalProperties"], f"{path}.*")


def test_schema_is_valid_draft_2020_12_and_every_property_is_described() -> None:
    jsonschema.Draft202012Validator.check_schema(TRAIN_SCHEMA)
    undocumented = [path for path, sub in _properties(TRAIN_SCHEMA) if not sub.get("description")]
    assert undocumented == []
    assert TRAIN_SCHEMA["additionalProperties"] is False


def test_importing_schema_config_and_cli_does_not_import_tensorflow() -> None:
    code = ("import sys, archspec.train, archspec.train.schema, archspec.train.config, archspec.train.cli; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_are_filled_and_round_trip_through_json(tmp_path: Path) -> None:
    cfg = resolve_config({"data": {"source": {"npz": "d.npz"}}, "task": "regression"}, base_dir=tmp_path)
    assert cfg.data.source == {"npz": str(tmp_path / "d.npz")}
    assert (cfg.epochs, cfg.seed, cfg.data.batch_size, cfg.data.validation_split) == (10, 0, 32, 0.2)
    assert cfg.data.resize_images is False and cfg.strategy == "default" and cfg.jit_compile == "auto"
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_builtin_sources_resize_by_default_unless_told() -> None:
    assert resolve_config({"data": {"source": {"builtin": "digits"}}}).data.resize_images
    assert not resolve_config({"data": {"source": {"builtin": "digits"}, "resize": False}}).data.resize_images


def test_schema_errors_point_at_the_spec_line() -> None:
    doc = load_text("name: x\ntrain:\n  epochs: 0\n  data:\n    source: {builtin: digits}\n    batchsize: 3\n",
                    "net.yaml")
    with pytest.raises(SpecErrors) as caught:
        resolve_config(doc.data["train"], locate=doc.loc)
    text = caught.value.format(all_errors=True)
    assert "net.yaml:3:11: 'train.epochs' must be >= 1; received: 0; number of epochs (default 10)" in text
    assert "net.yaml:6:16: unknown key 'batchsize' in 'train.data'; did you mean 'batch_size'?" in text


def test_missing_source_says_how_to_give_one() -> None:
    with pytest.raises(SpecErrors, match="no training data.*--data builtin:digits"):
        resolve_config({"epochs": 2})


def test_unknown_task_names_the_choices() -> None:
    with pytest.raises(SpecErrors, match="'train.task' must be one of classification, multilabel, regression, "
                                         "segmentation, keypoints, detection, instance_segmentation; "
                                         "received: 'tracking'"):
        resolve_config({"task": "tracking", "data": {"source": {"builtin": "digits"}}})


@pytest.mark.parametrize("text, expected", [
    ("builtin:shapes", {"builtin": "shapes"}),
    ("images:/photos", {"images": "/photos"}),
    ("npz:/a/b.npz", {"npz": "/a/b.npz"}),
])
def test_data_flag_forms(text: str, expected: dict) -> None:
    assert parse_data_flag(text) == expected


def test_data_flag_errors_and_tfrecord_keeps_the_spec_features(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not KIND:VALUE"):
        parse_data_flag("digits")
    with pytest.raises(UserError, match="no builtin data set 'mnist'"):
        parse_data_flag("builtin:mnist")
    with pytest.raises(UserError, match="needs a feature description"):
        parse_data_flag("tfrecord:*.tfrecord")
    spec = {"tfrecord": "old/*.tfrecord", "features": {"image": {"dtype": "string"}}}
    source = parse_data_flag("tfrecord:new/*.tfrecord", base_dir=tmp_path, spec_source=spec)
    assert source == {"tfrecord": str(tmp_path / "new/*.tfrecord"), "features": spec["features"]}


def test_shapes_are_deterministic_and_consistent() -> None:
    shapes = make_shapes(samples=40, size=16, seed=4)
    again = make_shapes(samples=40, size=16, seed=4)
    assert np.array_equal(shapes.x, again.x) and np.array_equal(shapes.mask, again.mask)
    assert not np.array_equal(shapes.x, make_shapes(samples=40, size=16, seed=5).x)
    # Every kind present in the mask is counted, and classes come from the first shape.
    for i in range(40):
        in_mask = set(np.unique(shapes.mask[i])) - {0}
        assert in_mask <= {k + 1 for k in np.flatnonzero(shapes.counts[i])}
    single = make_shapes(samples=30, size=16, seed=1, single=True)
    assert np.all(single.counts.sum(axis=1) == 1)
    assert np.array_equal(single.counts.argmax(axis=1), single.label)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    from archspec.errors import RunFailure
    from archspec.train.rundir import atomic_write, write_text

    target = tmp_path / "metrics.json"
    write_text(target, "old")

    def disk_full(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(RunFailure, match="cannot write .*metrics.json: No space left on device.*previous version"):
        atomic_write(target, disk_full)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_resume_compares_networks_not_text() -> None:
    from archspec.api import compile_text
    from archspec.train.resume import network_differences

    spec = "archspec: 1\nname: n\ninput: [8, 8, 1]\nvars: {w: 4}\nlayers:\n" \
           "  - Conv2D: {filters: $w, kernel_size: 3}\n    name: c\n  - Flatten\n  - Dense: {units: 3}\n    name: d\n"
    run = compile_text(spec).graph
    same = compile_text(spec.replace("vars: {w: 4}", "vars: {w: 2, x: 0}").replace("$w", "\"${2 * w}\"")).graph
    assert network_differences(same, run) == []
    wider = compile_text(spec.replace("{w: 4}", "{w: 5}"), "wide.yaml").graph
    [(message, loc)] = network_differences(wider, run)
    assert message == "layer 'c': filters is 5 here but 4 in the run" and (loc.file, loc.line) == ("wide.yaml", 6)
    other = compile_text(spec.replace("[8, 8, 1]", "[9, 9, 1]").replace("name: d", "name: e")).graph
    messages = [m for m, _ in network_differences(other, run)]
    assert messages[0] == "the inputs are input [9, 9, 1] here but input [8, 8, 1] in the run"
    assert "layer 'e' (Dense) is not in the run's network" in messages
    assert "the run's network has layer 'd' (Dense), which this spec lacks" in messages
