"""The layer registry: every layer kind's arguments, rules and Keras builder in one record.

A family module (``conv.py``, ``pooling.py``...) creates ``LayerKind`` records and calls
``register_kinds``. Everything else (schema generation, validation, analysis, reports, the Keras
backend, the tests) iterates over ``KINDS``; adding a layer kind touches one file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

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

    ``kernel`` is the dilated extent d*(K-1)+1, ``stride`` the step, ``pad`` the padding
    applied before the first position. Upsampling layers have ``stride`` < 1.
    """

    kernel: tuple[int, ...]
    stride: tuple[float, ...]
    pad: tuple[float, ...]


def _no_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params()


def _no_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return 0


def _no_checks(args: Args) -> list[LayerError]:
    return []


@dataclass(frozen=True)
class LayerKind:
    """A layer type as users write it (the Keras class name) and everything we know of it."""

    name: str
    family: str
    doc: str
    args: tuple[Arg, ...]
    shape: Callable[[Args, Sequence[Shape]], Shape]
    # (kind, args, name, input shapes) -> Keras layers applied in order; the last is named `name`
    build: Callable[["LayerKind", Args, str, Sequence[Shape]], list]
    params: Callable[[Args, Sequence[Shape], Shape], Params] = _no_params
    macs: Callable[[Args, Sequence[Shape], Shape], int] = _no_macs
    window: Optional[Callable[[Args, Sequence[Shape], Shape], Window]] = None  # None: pointwise
    check: Callable[[Args], list[LayerError]] = _no_checks  # argument rules beyond the schema
    rank: Optional[int] = None        # required input rank (without batch), None: any
    inputs: tuple[int, Optional[int]] = (1, 1)  # (min, max) number of inputs; max None = any
    keras_class: Optional[str] = None  # the Keras class it compiles to, when not `name`

    @property
    def arg_map(self) -> dict[str, Arg]:
        return {a.name: a for a in self.args}

    def with_defaults(self, given: Args) -> dict[str, Any]:
        """The given arguments with every default filled in, in declaration order."""
        return {a.name: given.get(a.name, a.default) for a in self.args}

    @property
    def is_merge(self) -> bool:
        return self.inputs[1] is None or self.inputs[1] > 1


KINDS: dict[str, LayerKind] = {}


def register_kinds(*kinds: LayerKind) -> None:
    for kind in kinds:
        if kind.name in KINDS:
            raise RuntimeError(f"layer kind {kind.name} registered twice")
        KINDS[kind.name] = kind


def all_kinds() -> dict[str, LayerKind]:
    """Every registered kind; importing the families registers them."""
    import archspec.layers.families  # noqa: F401  (registration side effect)
    return KINDS
