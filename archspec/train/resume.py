"""What ``archspec train SPEC --resume RUN`` may be given: the run's own network and settings.

A run continues with the spec and settings it was started with. The command that started
it may be repeated with ``--resume`` (SPEC, ``--set`` and flags again); whatever is given
must then agree with the run, and only ``--epochs`` may change. Networks are compared as
analysed graphs (layer names, kinds, arguments with defaults filled, connections, input
shapes), not as text, so comments, formatting and ``vars:`` rewritten to the same values do
not matter; settings are compared after resolution, as ``train_config.json`` holds them.
Pure Python: nothing here imports TensorFlow.
"""
from __future__ import annotations

from typing import Any, Mapping

from archspec.errors import Location, SpecError, UserError
from archspec.graph.ir import Graph, Node
from archspec.train.config import TrainConfig, config_to_dict

_HOW = "a run continues with its own network and settings, and only --epochs may change: give its " \
       "spec unchanged (or none), or start a new run without --resume"


def overlay_train(run_train: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's train settings with a given ``train:`` section's keys put over them
    (``data`` key by key); ``epochs`` stays the run's, since only ``--epochs`` changes it.

    >>> overlay_train({"epochs": 5, "seed": 0, "data": {"source": {"builtin": "digits"}, "batch_size": 32}},
    ...               {"epochs": 9, "data": {"batch_size": 64}})
    {'epochs': 5, 'seed': 0, 'data': {'source': {'builtin': 'digits'}, 'batch_size': 64}}
    """
    merged = {**run_train, "data": dict(run_train.get("data") or {})}
    for key, value in (given or {}).items():
        if key == "data" and isinstance(value, Mapping):
            merged["data"].update(value)
        elif key != "epochs":
            merged[key] = value
    return merged


def config_differences(run: TrainConfig, given: TrainConfig) -> list[str]:
    """``train.KEY: GIVEN (the run has RUN)`` for each resolved setting that differs, epochs aside.

    >>> from archspec.train.config import resolve_config
    >>> a = resolve_config({"data": {"source": {"builtin": "digits"}}, "epochs": 3})
    >>> config_differences(a, a.replace(seed=4, epochs=9))
    ['train.seed: 4 (the run has 0)']
    """
    return [f"train.{key}: {_text(b)} (the run has {_text(a)})"
            for key, a, b in _changed(config_to_dict(run), config_to_dict(given), "") if key != "epochs"]


def _changed(a: Any, b: Any, prefix: str) -> list[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict) and prefix != "data.source":
        return [found for key in [*a, *(k for k in b if k not in a)]
                for found in _changed(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else str(key))]
    return [] if a == b else [(prefix, a, b)]


def _text(value: Any) -> str:
    return "none" if value is None else str(value)


def check_settings(run: TrainConfig, given: TrainConfig) -> None:
    """Refuse settings that differ from the run's (exit 2), naming each with both values."""
    differences = config_differences(run, given)
    if differences:
        more = f", and {len(differences) - 3} more" if len(differences) > 3 else ""
        raise UserError(f"--resume: the settings given differ from the run's: {'; '.join(differences[:3])}{more}",
                        _HOW)


def check_same_network(given: Graph, run: Graph) -> None:
    """Refuse a spec whose network is not the run's (exit 2), at the first difference's line."""
    differences = network_differences(given, run)
    if differences:
        (message, loc), more = differences[0], len(differences) - 1
        extra = f" (and {more} more difference{'s' if more > 1 else ''})" if more else ""
        raise SpecError(f"--resume: {message}{extra}", _HOW, loc)


def network_differences(given: Graph, run: Graph) -> list[tuple[str, Location | None]]:
    """What separates two networks, each with its place in the given spec (if it has one)."""
    found: list[tuple[str, Location | None]] = []
    if dict(given.inputs) != dict(run.inputs):
        first = next(iter(given.input_locs.values()), None)
        found.append((f"the inputs are {_inputs(given)} here but {_inputs(run)} in the run", first))
    theirs = {node.name: node for node in run.nodes}
    for node in given.nodes:
        other = theirs.get(node.name)
        if other is None:
            found.append((f"layer '{node.name}' ({node.kind}) is not in the run's network", node.loc))
        else:
            found += [(text, node.loc) for text in _node_differences(node, other, _where(given, node))]
    ours = {node.name for node in given.nodes}
    found += [(f"the run's network has layer '{n.name}' ({n.kind}), which this spec lacks", None)
              for n in run.nodes if n.name not in ours]
    if tuple(given.outputs) != tuple(run.outputs):
        found.append((f"the outputs are {', '.join(given.outputs)} here but {', '.join(run.outputs)} in the run", None))
    return found


def _where(graph: Graph, node: Node) -> str:
    """``layer 'b/conv'``, with the line of the block's use when it is inside one."""
    instance = graph.blocks.get(node.scope[:1]) if node.scope else None
    used = f" (in {instance.block} '{node.scope[0]}' at line {instance.loc.line})" if instance else ""
    return f"layer '{node.name}'{used}"


def _node_differences(node: Node, run: Node, where: str) -> list[str]:
    if node.kind != run.kind:
        return [f"{where} is a {node.kind} here but a {run.kind} in the run"]
    found = [f"{where}: {key} is {_text(node.args.get(key))} here but {_text(run.args.get(key))} in the run"
             for key in sorted(set(node.args) | set(run.args)) if node.args.get(key) != run.args.get(key)]
    if tuple(node.inputs) != tuple(run.inputs):
        found.append(f"{where} takes {', '.join(node.inputs)} here but {', '.join(run.inputs)} in the run")
    return found


def _inputs(graph: Graph) -> str:
    return ", ".join(f"{name} {list(shape)}" for name, shape in graph.inputs.items())
