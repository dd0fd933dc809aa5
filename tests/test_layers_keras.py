"""Every registered layer kind, built in Keras, agrees with the analysis exactly."""
from __future__ import annotations

import numpy as np
import pytest

from archspec.api import compile_text
from archspec.layers.catalog import all_kinds
from layer_samples import SAMPLES, spec_for

CASES = [pytest.param(kind, ins, args, id=f"{kind}-{i}") for kind, cases in sorted(SAMPLES.items())
         for i, (ins, args) in enumerate(cases)]


def test_every_registered_kind_has_samples() -> None:
    missing = sorted(set(all_kinds()) - set(SAMPLES))
    assert not missing, f"add samples for {missing} to tests/layer_samples.py"


@pytest.mark.parametrize("kind, ins, args", CASES)
def test_kind_matches_keras(kind: str, ins: list, args: dict) -> None:
    from archspec.keras_backend.model_builder import build_model, verify

    compiled = compile_text(spec_for(kind, ins, args))
    extra = compiled.analysis.info("layer").extra_outputs
    if extra:  # a layer with several outputs: the model returns each, so each is run and compared
        names = ", ".join(["layer"] + [f"layer:{i}" for i in range(1, len(extra) + 1)])
        compiled = compile_text(spec_for(kind, ins, args) + f"outputs: [{names}]\n")
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []  # every output's shape, and the params
    if compiled.analysis.warnings:
        return  # a setting TensorFlow's own CPU kernels cannot run (tests/keras_backend/test_keras_edges.py)
    # Run it: the real output must have the analysed shape too, not only the symbolic one.
    shapes = ins if isinstance(ins[0], list) else [ins]
    batch = [np.random.default_rng(0).normal(size=(2, *s)).astype("float32") for s in shapes]
    if "input_dim" in args:  # token ids (Embedding): integers in [0, input_dim)
        batch = [(np.abs(b) * 10).astype("int32") % args["input_dim"] for b in batch]
    out = model.predict(batch if len(batch) > 1 else batch[0], verbose=0)
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert [list(o.shape[1:]) for o in outs] == [list(s) for s in compiled.analysis.output_shapes()]
