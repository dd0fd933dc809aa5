"""The layer records: a family, and a layer kind with every rule a surface reads.

A family module (``conv.py``, ``pooling.py``...) creates ``LayerKind`` records and calls
``register_kinds``; ``catalog.all_kinds()`` imports the family modules. Schema generation,
validation, the analysis passes, ``explain``, the graph, the docs and the Keras backend read
the records and never match on a kind's name, so adding a layer kind touches one file.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping, Optional, Sequence

from archspec.layers.axes import rank_mismatch
from archspec.layers.equations import Line
from archspec.layers.arithmetic import fmt_shape

Dim = Optional[int]
Shape = tuple  # tuple[Dim, ...] without the batch axis
Args = Mapping[str, Any]


class LayerError(ValueError):
    """A layer cannot be applied: its message names the rule; ``arg`` the argument to blame."""

    def __init__(self, message: str, hint: str | None = None, arg: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint, self.arg = message, hint, arg


@dataclass(frozen=True)
class Arg:
    """One argument: its Keras name, JSON schema, default, and human words for both."""

    name: str
    schema: Mapping[str, Any]
    expects: str                      # "a positive integer or a list of 2 positive integers"
    doc: str
    default: Any = None
    required: bool = False
    keras: bool = True                # passed to the Keras constructor as is
    entry: bool = False               # holds one layer entry written as in a spec (a wrapper's layer)


@dataclass(frozen=True)
class Params:
    trainable: int = 0
    non_trainable: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: "Params") -> "Params":
        return Params(self.trainable + other.trainable, self.non_trainable + other.non_trainable)


@dataclass(frozen=True)
class Window:
    """How one layer maps positions, per spatial axis, for receptive-field arithmetic.

    ``kernel`` is the dilated extent d*(K-1)+1 (``dilated`` says whether d > 1 somewhere),
    ``stride`` the step, ``pad`` the padding applied before the first position. Upsampling
    layers have ``stride`` < 1.
    """

    kernel: tuple[int, ...]
    stride: tuple[float, ...]
    pad: tuple[float, ...]
    dilated: bool = False


@dataclass(frozen=True)
class Family:
    """A family of layer kinds: how ``archspec layers`` titles it, the colour ``graph`` fills
    its boxes with, and ``noun``, how a sentence names its layers ("convolutions")."""

    name: str
    title: str
    colour: str
    noun: str


class FieldRule(Enum):
    """How a kind's output positions see its input's positions: what the receptive-field
    pass does with the field of its input (the kind declares it; nothing is inferred)."""

    POINTWISE = "pointwise"   # each output position sees the same input position
    WINDOW = "window"         # a window of K positions with stride S (the kind's window rule)
    UPSAMPLE = "upsample"     # a window on a grid finer than its input (stride 1/f)
    WHOLE = "whole"           # every position of the input (global pooling)
    RESHAPE = "reshape"       # pointwise while the spatial axes stay, the whole input otherwise
    PERMUTE = "permute"       # the axes reordered (dims)
    MERGE = "merge"           # several inputs: the largest field, a note when misaligned
    NEW = "new"               # spatial axes made from a vector: an unknown field over the whole input

    @property
    def words(self) -> str:
        return FIELD_RULE_WORDS[self]


FIELD_RULE_WORDS = {
    FieldRule.POINTWISE: "pointwise: each output position sees the input position it came from",
    FieldRule.WINDOW: "window: RF grows by (K - 1)*j, the jump j by the stride S",
    FieldRule.UPSAMPLE: "upsampling by f: RF grows by (ceil(K/f) - 1)*j, the jump j shrinks to j/f",
    FieldRule.WHOLE: "whole input: every output position sees every input position",
    FieldRule.RESHAPE: "reshaping: unchanged while the spatial axes stay, the whole input otherwise",
    FieldRule.PERMUTE: "permutation: the spatial axes' fields reordered as the axes are",
    FieldRule.MERGE: "merge: the largest field of the inputs, with a note when their paths are misaligned",
    FieldRule.NEW: "new axes from a vector: unknown, and the whole input",
}

Example = tuple[tuple[Shape, ...], Mapping[str, Any]]  # input shapes, arguments


def _no_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params()


def _no_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return 0


def _no_checks(args: Args) -> list[LayerError]:
    return []


@dataclass(frozen=True)
class Caveat:
    """A setting Keras builds but some TensorFlow kernels cannot run: a warning, not an error.
    ``arg`` names the argument to point at (None: the layer)."""

    message: str
    hint: str
    arg: Optional[str] = None


def _no_caveats(args: Args, ins: Sequence[Shape]) -> list[Caveat]:
    return []


def _one_output(args: Args, ins: Sequence[Shape], out: Shape) -> tuple[tuple[str, Shape], ...]:
    return ()


def shape_only(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    """The explanation of a kind without weights or arithmetic of its own."""
    if len(ins) == 1 and tuple(ins[0]) == tuple(out):
        return [f"shape unchanged: {fmt_shape(out)}"]
    return [f"{', '.join(fmt_shape(s) for s in ins)} -> {fmt_shape(out)}"]


@dataclass(frozen=True)
class LayerKind:
    """A layer type as users write it (the Keras class name) and everything we know of it.

    ``example`` is one use (input shapes, arguments) that ``archspec layers`` and
    docs/layers.md explain with numbers; ``explain`` gives the equations behind the shape,
    params and MACs (see ``archspec.layers.equations``), sharing helpers with those rules.
    """

    name: str
    family: Family
    doc: str
    args: tuple[Arg, ...]
    shape: Callable[[Args, Sequence[Shape]], Shape]
    # (kind, args, name, input shapes) -> Keras layers applied in order; the last is named `name`
    build: Callable[["LayerKind", Args, str, Sequence[Shape]], list]
    params: Callable[[Args, Sequence[Shape], Shape], Params] = _no_params
    macs: Callable[[Args, Sequence[Shape], Shape], int] = _no_macs
    window: Optional[Callable[[Args, Sequence[Shape], Shape], Window]] = None
    check: Callable[[Args], list[LayerError]] = _no_checks  # argument rules beyond the schema
    rank: Optional[int] = None        # required input rank (without batch), None: any
    inputs: tuple[int, Optional[int]] = (1, 1)  # (min, max) number of inputs; max None = any
    keras_class: Optional[str] = None  # the Keras class it compiles to, when not `name`
    explain: Callable[[Args, Sequence[Shape], Shape], list[Line]] = shape_only
    field_rule: FieldRule = FieldRule.POINTWISE  # what the receptive-field pass does
    example: Optional[Example] = None
    caveats: Callable[[Args, Sequence[Shape]], list[Caveat]] = _no_caveats  # warnings at validation
    # The outputs after the first, for a layer that returns several tensors (an RNN's
    # return_state, attention scores): (name, shape) pairs, in the order Keras returns them.
    # The first output is ``shape``'s; a spec names the others "layer:name" (or "layer:1").
    extra_outputs: Callable[[Args, Sequence[Shape], Shape], tuple[tuple[str, Shape], ...]] = _one_output

    @property
    def arg_map(self) -> dict[str, Arg]:
        return {a.name: a for a in self.args}

    def with_defaults(self, given: Args) -> dict[str, Any]:
        """The given arguments with every default filled in, in declaration order."""
        return {a.name: given.get(a.name, a.default) for a in self.args}

    @property
    def is_merge(self) -> bool:
        return self.inputs[1] is None or self.inputs[1] > 1

    @property
    def counts_macs(self) -> bool:
        return self.macs is not _no_macs

    def output_shape(self, args: Args, ins: Sequence[Shape], model_inputs: Sequence[bool] = ()) -> Shape:
        """The shape rule's output, once the declared input rank is checked (for every kind
        here, so shape rules never check it). ``model_inputs[i]`` says input ``i`` is one
        of the model's inputs; the hint then says how to write that input."""
        if self.rank is not None:
            for i, shape in enumerate(ins):
                if len(shape) != self.rank:
                    from_model = i < len(model_inputs) and model_inputs[i]
                    raise LayerError(*rank_mismatch(self.name, shape, self.rank, from_model))
        return self.shape(args, ins)


KINDS: dict[str, LayerKind] = {}
FAMILIES: dict[str, Family] = {}


def register_families(*families: Family) -> None:
    for family in families:
        if family.name in FAMILIES:
            raise RuntimeError(f"layer family {family.name} registered twice")
        FAMILIES[family.name] = family


def record_problems(kind: LayerKind) -> list[str]:
    """What makes a record incomplete or inconsistent (empty when it is sound)."""
    problems = []
    if FAMILIES.get(kind.family.name) is not kind.family:
        problems.append(f"its family {kind.family.name} is not registered")
    if kind.example is None:
        problems.append("it has no example (archspec layers and docs/layers.md explain it)")
    if (kind.params is not _no_params or kind.counts_macs) and kind.explain is shape_only:
        problems.append("it counts params or MACs but has no explain rule to show them")
    if (kind.window is not None) != (kind.field_rule in (FieldRule.WINDOW, FieldRule.UPSAMPLE)):
        problems.append(f"field_rule {kind.field_rule.value} and a window rule go together (window and upsample only)")
    # Several inputs are merged, or (whole: an RNN's initial states) read beside the first.
    if kind.field_rule is FieldRule.MERGE and not kind.is_merge or \
            kind.is_merge and kind.field_rule not in (FieldRule.MERGE, FieldRule.WHOLE):
        problems.append("a kind with several inputs has field_rule merge (or whole: an RNN's initial states), and "
                        "only such a kind has merge")
    return problems


def register_kinds(*kinds: LayerKind) -> None:
    for kind in kinds:
        if kind.name in KINDS:
            raise RuntimeError(f"layer kind {kind.name} registered twice")
        problems = record_problems(kind)
        if problems:
            raise RuntimeError(f"layer kind {kind.name} cannot be registered: " + "; ".join(problems))
        KINDS[kind.name] = kind


def unregister_kind(name: str) -> None:
    """Remove a kind (a test's throwaway kind, a plugin unloaded)."""
    del KINDS[name]


def unregister_family(name: str) -> None:
    """Remove a family no registered kind belongs to."""
    users = [kind.name for kind in KINDS.values() if kind.family.name == name]
    if users:
        raise RuntimeError(f"layer family {name} still has kinds: {', '.join(users)}")
    del FAMILIES[name]
