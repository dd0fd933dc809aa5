"""A Keras layer's config as a spec entry's arguments: the kind's own arguments (those it
passes to Keras), written as a person would (``3`` for ``[3, 3]``), the ones at their default
left out, and every other Keras key either at Keras's neutral value or refused by name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jsonschema

from archspec.errors import shown
from archspec.layers.registry import Arg, LayerKind

# Keys of a Keras config with no archspec argument that may be dropped at these values:
# they change nothing archspec computes or builds (the dtype policy, the data format we
# assume, empty constraints...). Any other value is refused.
NEUTRAL: dict[str, Callable[[Any, Mapping[str, Any]], bool]] = {
    "name": lambda value, config: True,
    "trainable": lambda value, config: isinstance(value, bool),  # False is the entry's `trainable: false`
    "dtype": lambda value, config: _dtype_name(value) in (None, "float32", "mixed_float16", "mixed_bfloat16"),
    "data_format": lambda value, config: value in (None, "channels_last"),
    "activity_regularizer": lambda value, config: value is None,
    "quantization_config": lambda value, config: value is None,
    "lora_rank": lambda value, config: value is None,
    "lora_alpha": lambda value, config: config.get("lora_rank") is None,
    "synchronized": lambda value, config: value is False,
    "renorm": lambda value, config: value is False,
    "renorm_clipping": lambda value, config: value is None,
    "renorm_momentum": lambda value, config: config.get("renorm") is False,
    "rms_scaling": lambda value, config: value is False,
    "invert": lambda value, config: value is False,
    "seed": lambda value, config: value is None,
    "sparse": lambda value, config: value is False,
    "ragged": lambda value, config: value is False,
    "sliding_window": lambda value, config: value is None,
    "flash_attention": lambda value, config: value is None,
    "stateful": lambda value, config: value is False,
    "unroll": lambda value, config: value is False,  # unrolling changes speed, not results
    "zero_output_for_mask": lambda value, config: True,  # matters only under a mask
    "backward_layer": lambda value, config: _mirrors(value, config.get("layer")),
}
NEUTRAL_SUFFIXES = {"_constraint": None, "_regularizer": None}  # an empty constraint or penalty
SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class Converted:
    """A layer's arguments as the spec writes them, what was refused, and what was approximated."""

    args: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)   # "Keras argument x=... has no archspec equivalent"
    notes: list[str] = field(default_factory=list)     # values the spec cannot hold that change no number


def convert(kind: LayerKind, config: Mapping[str, Any]) -> Converted:
    """The spec arguments of ``kind`` from a Keras layer ``config``.

    >>> from archspec.layers.catalog import all_kinds
    >>> convert(all_kinds()["Conv2D"], {"filters": 8, "kernel_size": [3, 3], "strides": [1, 1],
    ...     "activation": "linear", "kernel_constraint": None, "trainable": True}).args
    {'filters': 8, 'kernel_size': 3}
    """
    out = Converted()
    # An argument archspec passes on itself (a wrapper's layer) still has Keras's name.
    declared = {arg.name: arg for arg in kind.args}
    for key, value in config.items():
        arg = declared.get(key)
        if arg is None:
            if not _neutral(key, value, config):
                out.refused.append(f"Keras argument {key}={_object_text(value)} has no archspec equivalent"
                                   f"{_WHY.get(key.rsplit('_', 1)[-1], '')}")
            continue
        _convert_one(arg, value, config, out)
    return out


def _convert_one(arg: Arg, value: Any, config: Mapping[str, Any], out: Converted) -> None:
    if _is_layer(value):
        value = _wrapped_entry(value, out)
        if value is _UNSAYABLE:
            return
    elif isinstance(value, dict) and "class_name" in value:
        value = _named_object(arg, value, out)
        if value is _UNSAYABLE:
            return
    if _is_default(arg, value, config):
        return
    written = compact(value)
    if not _fits(arg, written):
        written = _plain(value)
    if not _fits(arg, written):
        out.refused.append(f"Keras argument {arg.name}={shown(value)} is not {arg.expects}")
        return
    out.args[arg.name] = written


_UNSAYABLE = object()


def _is_layer(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("config"), dict) and \
        str(value.get("module", "")).startswith("keras.layers")


def _wrapped_entry(value: dict, out: Converted) -> Any:
    """A wrapped layer (Bidirectional's, TimeDistributed's) as the entry ``{Kind: {args}}``."""
    from archspec.importer.to_entries import kinds_by_class

    kind = kinds_by_class().get(str(value["class_name"]))
    if kind is None:
        out.refused.append(f"the wrapped layer's class {value['class_name']} has no archspec kind")
        return _UNSAYABLE
    inner = convert(kind, value["config"])
    out.refused.extend(f"the wrapped {kind.name}: {why}" for why in inner.refused)
    out.notes.extend(inner.notes)
    return {kind.name: inner.args} if inner.args else kind.name


_WHY = {"constraint": " (archspec has no weight constraints; they act only in training)",
        "regularizer": " (an ActivityRegularization layer after it adds the same penalty)"}


def _object_text(value: Any) -> str:
    """A serialised Keras object as its constructor call; anything else as errors show values.

    >>> _object_text({"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}})
    'MaxNorm(max_value=3, axis=0)'
    """
    if isinstance(value, dict) and isinstance(value.get("class_name"), str) and isinstance(value.get("config"), dict):
        words = ", ".join(f"{k}={v!r}" for k, v in value["config"].items() if v is not None)
        return f"{value['class_name']}({words})"
    return shown(value)


def _mirrors(backward: Any, forward: Any) -> bool:
    """Whether Bidirectional's backward layer is the copy Keras makes of the forward one."""
    if not (isinstance(backward, dict) and isinstance(forward, dict)):
        return backward is None
    strip = lambda c: {k: v for k, v in c.items() if k not in ("name", "go_backwards")}  # noqa: E731
    b, f = backward.get("config", {}), forward.get("config", {})
    return backward.get("class_name") == forward.get("class_name") and strip(b) == strip(f) and \
        b.get("go_backwards") != f.get("go_backwards")


def _named_object(arg: Arg, value: dict, out: Converted) -> Any:
    """An initializer or regularizer object as the name or mapping the spec takes; initializers
    the spec cannot name are noted (they matter only to training from scratch)."""
    cls, config = str(value["class_name"]), value.get("config") or {}
    if arg.name.endswith("_regularizer"):
        if cls in ("L1L2", "L1", "L2"):
            return {k: float(v) for k, v in config.items() if k in ("l1", "l2") and v}
        out.refused.append(f"Keras argument {arg.name}={cls}({shown(config)}) has no archspec equivalent")
        return _UNSAYABLE
    name = initializer_name(cls, config)
    if name is not None and _fits(arg, name):
        return name
    words = ", ".join(f"{k}={v!r}" for k, v in config.items() if v is not None)
    out.notes.append(f"{arg.name} {cls}({words}), the spec's default {arg.default} instead")
    return _UNSAYABLE


def initializer_name(class_name: str, config: Mapping[str, Any]) -> str | None:
    """Keras's name for an initializer object that has its default settings.

    >>> initializer_name("HeNormal", {"seed": None}), initializer_name("Constant", {"value": 0.0})
    ('he_normal', 'zeros')
    >>> initializer_name("VarianceScaling", {"scale": 2.0, "mode": "fan_out"}) is None
    True
    """
    if class_name == "Constant" and set(config) <= {"value"}:
        return {0: "zeros", 1: "ones"}.get(config.get("value", 0))
    defaults = INITIALIZER_DEFAULTS.get(class_name, {})
    if any(v is not None and defaults.get(k) != v for k, v in config.items()):
        return None
    return SNAKE.sub("_", class_name).lower()


# The settings of Keras's initializers made by name ("orthogonal" is Orthogonal(gain=1.0)).
INITIALIZER_DEFAULTS: dict[str, dict[str, Any]] = {
    "Orthogonal": {"gain": 1.0},
    "VarianceScaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
    "RandomNormal": {"mean": 0.0, "stddev": 0.05},
    "TruncatedNormal": {"mean": 0.0, "stddev": 0.05},
    "RandomUniform": {"minval": -0.05, "maxval": 0.05},
}


def _neutral(key: str, value: Any, config: Mapping[str, Any]) -> bool:
    if key in NEUTRAL:
        return NEUTRAL[key](value, config)
    return any(key.endswith(suffix) and value == neutral for suffix, neutral in NEUTRAL_SUFFIXES.items())


def _dtype_name(value: Any) -> Any:
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name")
    return value


def _is_default(arg: Arg, value: Any, config: Mapping[str, Any]) -> bool:
    if arg.required:
        return False
    if arg.name == "activation" and value == "linear":
        value = None  # Keras writes the identity as 'linear'; the spec's default null is it
    if arg.name == "strides" and arg.default is None and "pool_size" in config:
        return compact(value) == compact(config["pool_size"])  # Keras stores strides=None as pool_size
    return compact(value) == compact(arg.default)


def compact(value: Any) -> Any:
    """A value as a person writes it: lists for tuples, and a list of equal numbers as the number
    (``[3, 3]`` -> 3, ``[[1, 1], [2, 2]]`` -> ``[1, 2]``); pairs of different numbers stay.

    >>> compact((3, 3)), compact([[1, 1], [2, 2]]), compact([[0, 1], [0, 1]]), compact([None, 1])
    (3, [1, 2], [[0, 1], [0, 1]], [None, 1])
    """
    if not isinstance(value, (list, tuple)):
        return value
    items = [compact(item) for item in value]
    scalars = all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items)
    if items and scalars and all(i == items[0] for i in items):
        return items[0]
    return items


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


_VALIDATORS: dict[int, tuple[Arg, jsonschema.Draft202012Validator]] = {}


def _fits(arg: Arg, value: Any) -> bool:
    """Whether the argument's schema takes ``value`` (one validator per argument: a model has
    thousands of layers of a few kinds)."""
    kept = _VALIDATORS.get(id(arg))
    if kept is None or kept[0] is not arg:
        kept = _VALIDATORS[id(arg)] = (arg, jsonschema.Draft202012Validator(arg.schema))
    return kept[1].is_valid(value)
