"""The examples a newcomer runs first: each compiles, builds into a Keras model that agrees with
the analysis, runs, and survives a save and load; together they cover what they promise."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from archspec.api import Compiled, compile_spec
from archspec.graph.ir import Node

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture(scope="module")
def compiled(example: Path) -> Compiled:
    return compile_spec(example)


@pytest.fixture(scope="module")
def built(compiled: Compiled) -> Any:
    from archspec.keras_backend.model_builder import build_model

    return build_model(compiled.graph)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8


def test_example_explains_itself(example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/archspec.schema.json\n")
    header = text.split("\narchspec:", 1)[0]
    assert "What this example teaches:" in header
    assert len(header.splitlines()) >= 5


def test_example_builds_and_agrees_with_analysis(compiled: Compiled, built: Any) -> None:
    from archspec.keras_backend.model_builder import verify

    assert verify(built, compiled.analysis) == []


def test_example_runs(compiled: Compiled, built: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    inputs = [rng.uniform(0, 1, (2, *shape)).astype("float32") for shape in compiled.graph.inputs.values()]
    outputs = built(inputs[0] if len(inputs) == 1 else inputs, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    assert [tuple(np.shape(o)[1:]) for o in outputs] == [tuple(s) for s in compiled.analysis.output_shapes()]
    assert all(np.isfinite(np.asarray(o)).all() for o in outputs)


def test_example_saves_and_loads(compiled: Compiled, built: Any, tmp_path: Path) -> None:
    import keras
    import numpy as np

    import archspec  # noqa: F401  (registers archspec's own layers for loading)
    from archspec.keras_backend.save import save_model

    path = tmp_path / f"{compiled.graph.name}.keras"
    save_model(built, path)
    loaded = keras.saving.load_model(path)
    assert loaded.count_params() == built.count_params()
    rng = np.random.default_rng(1)
    inputs = [rng.uniform(0, 1, (1, *shape)).astype("float32") for shape in compiled.graph.inputs.values()]
    x = inputs[0] if len(inputs) == 1 else inputs
    before, after = built(x, training=False), loaded(x, training=False)
    for a, b in zip(before if isinstance(before, (list, tuple)) else [before],
                    after if isinstance(after, (list, tuple)) else [after]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ what the examples cover
def _nodes(compiled: Compiled) -> list[Node]:
    return list(compiled.graph.nodes)


def _residual(c: Compiled) -> bool:
    return any(n.kind == "Add" and n.scope for n in _nodes(c))


def _inception(c: Compiled) -> bool:
    return any(n.kind == "Concatenate" and len(n.inputs) >= 4 for n in _nodes(c))


def _causal_dilated(c: Compiled) -> bool:
    convs = [n for n in _nodes(c) if n.kind == "Conv1D" and n.args.get("padding") == "causal"]
    return len({n.args.get("dilation_rate") for n in convs}) >= 3


def _transposed_decoder(c: Compiled) -> bool:
    return sum(n.kind == "Conv2DTranspose" for n in _nodes(c)) >= 2


def _edge_kernels(c: Compiled) -> bool:
    kernels: set = set()
    for n in _nodes(c):
        if n.kind == "FixedConv2D":
            k = n.args["kernel"]
            kernels.update(k if isinstance(k, list) and all(isinstance(i, str) for i in k) else [str(k)])
    return {"sobel_x", "sobel_y"} <= kernels


def _reflect_padding(c: Compiled) -> bool:
    return any(n.args.get("padding_mode") == "reflect" and not isinstance(n.args.get("padding"), str)
               for n in _nodes(c)) and any(n.args.get("padding") == "full" for n in _nodes(c))


def _unshared(c: Compiled) -> bool:
    kinds = {n.kind for n in _nodes(c)}
    return {"LocallyConnected2D", "TiledConv2D"} <= kinds


def _multi_io(c: Compiled) -> bool:
    return len(c.graph.inputs) >= 2 and len(c.graph.outputs) == 2


def _shared_instance(c: Compiled) -> bool:
    return any(instance.shares for instance in c.graph.blocks.values())


def _two_input_block(c: Compiled) -> bool:
    return any(n.kind == "Concatenate" and n.scope and all(i.split("/")[0] != n.scope[0] for i in n.inputs[1:])
               for n in _nodes(c))


def _several_outputs(c: Compiled) -> bool:
    return any(info.extra_outputs and any(i.startswith(info.node.name + ":") for n in _nodes(c) for i in n.inputs)
               for info in c.analysis.layers)


COVERAGE: dict[str, Callable[[Compiled], bool]] = {
    "a shared block instance (share:)": _shared_instance,
    "a block with two inputs bound by name": _two_input_block,
    "a layer's other outputs (layer:name) feeding another layer": _several_outputs,
    "a residual block": _residual,
    "an inception module": _inception,
    "a 1-D causal dilated stack": _causal_dilated,
    "a transposed-conv decoder": _transposed_decoder,
    "fixed edge kernels (sobel_x, sobel_y)": _edge_kernels,
    "explicit and full padding with padding_mode reflect": _reflect_padding,
    "LocallyConnected2D and TiledConv2D": _unshared,
    "several named inputs and two outputs": _multi_io,
}


@pytest.mark.parametrize("topic", list(COVERAGE))
def test_some_example_shows(topic: str) -> None:
    shows = [p.name for p in EXAMPLES if COVERAGE[topic](compile_spec(p))]
    assert shows, f"no example shows {topic}"
