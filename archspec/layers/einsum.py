"""EinsumDense: the shapes of its output, kernel and bias read from its equation, as Keras reads them.

An equation ``input,kernel->output`` names each axis by a letter; the input's first letter is
the batch axis (unless the equation starts with ``...``, which then holds the batch axis and
any axes after it). Keras sizes the kernel from the input (letters it shares with the input)
and from ``output_shape`` (letters it shares with the output), and the bias from
``output_shape``; an axis the spec's ``output_shape`` leaves ``null`` stays unknown in Keras's
output shape even when the input gives it, so ours does too. Pure Python, with doctests.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from archspec.layers import args as A
from archspec.layers.arithmetic import fmt_shape
from archspec.layers.equations import Equation, Line, mul
from archspec.layers.families import ATTENTION
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds

Dim = Optional[int]
_FORMS = ((re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), ""),
          (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
          (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"))
_FORMS_WORDS = "'ab,bc->ac', '...b,bc->...c' or 'abc...,cd->abd...'"


@dataclass(frozen=True)
class Einsum:
    """One EinsumDense applied to one input: everything its rules read.

    ``output`` is the output shape without the batch axis as Keras reports it; ``sizes`` the
    true size of every letter but the batch's (``None`` where the input's is unknown);
    ``elided`` the input axes the ellipsis stands for (without the batch axis).
    """

    input_spec: str
    kernel_spec: str
    output_spec: str
    output: tuple[Dim, ...]
    kernel: tuple[int, ...]
    bias: Optional[tuple[int, ...]]
    sizes: dict[str, Dim]
    elided: tuple[Dim, ...]

    @property
    def mac_letters(self) -> str:
        """Every letter once, in the order written, without the batch letter: one multiply-
        accumulate per combination of their positions (and per position of the elided axes)."""
        return "".join(dict.fromkeys(c for c in self.input_spec + self.kernel_spec if c in self.sizes))

    @property
    def macs(self) -> Optional[int]:
        """``prod(size of every letter) * prod(elided axes)``; None when a size is unknown.

        >>> einsum("abc,cd->abd", [None, 64], "d", (32, 128)).macs
        262144
        """
        sizes = [self.sizes[c] for c in self.mac_letters] + list(self.elided)
        return None if None in sizes else math.prod(sizes)


def einsum(equation: str, output_shape: int | Sequence[Dim], bias_axes: Optional[str],
           in_shape: Sequence[Dim]) -> Einsum:
    """Read an EinsumDense's equation against its input (shape without the batch axis).

    >>> e = einsum("abc,cde->abde", [None, 4, 8], "de", (32, 128))
    >>> e.output, e.kernel, e.bias
    ((None, 4, 8), (128, 4, 8), (4, 8))
    >>> einsum("abc,cd->abd", [32, 64], "b", (32, 128)).bias
    (32, 1)
    >>> e = einsum("abc...,bd->adc...", [7, 5], "d", (32, 5, 3))
    >>> e.output, e.kernel, e.bias
    ((7, 5, 3), (32, 7), (7, 1, 1))
    >>> einsum("...b,bc->...c", 64, "c", (10, 128)).output
    (10, 64)
    >>> einsum("abc,cd->abd", [5, 10], None, (4, 32))
    Traceback (most recent call last):
    archspec.layers.registry.LayerError: output_shape gives 'b' size 5, but the input's axis 'b' has size 4
    """
    input_spec, kernel_spec, output_spec, form = _split(equation)
    user = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    elided = _check_ranks(input_spec, output_spec, form, user, tuple(in_shape))
    _check_letters(input_spec, kernel_spec, output_spec, form)
    inputs = _input_sizes(input_spec, form, tuple(in_shape))
    outputs = dict(zip(output_spec[0 if form == "left" else 1:], user))
    _check_shared(inputs, outputs)
    kernel = tuple(_kernel_size(c, inputs, outputs) for c in kernel_spec)
    sizes = {**{c: n for c, n in outputs.items() if n is not None}, **inputs}
    sizes.update({c: n for c, n in zip(kernel_spec, kernel)})
    output = _output(output_spec, form, user, elided)
    bias = None if bias_axes is None else _bias(bias_axes, output_spec, outputs, form, len(elided))
    return Einsum(input_spec, kernel_spec, output_spec, output, kernel, bias, sizes, elided)


def _split(equation: str) -> tuple[str, str, str, str]:
    equation = equation.replace(" ", "")
    for pattern, form in _FORMS:
        match = pattern.fullmatch(equation)
        if match:
            return match.group(1), match.group(2), match.group(3), form
    raise LayerError(f"equation {equation!r} is not of a form EinsumDense takes", f"write it as {_FORMS_WORDS}: "
                     "input letters (the first is the batch axis), kernel letters, output letters", "equation")


def _check_ranks(input_spec: str, output_spec: str, form: str, user: list, in_shape: tuple) -> tuple[Dim, ...]:
    """The elided input axes (without batch); the equation's letters must fit the input and output_shape."""
    named = len(input_spec) - (0 if form == "left" else 1)
    if len(in_shape) < named or (not form and len(in_shape) != named):
        raise LayerError(f"equation input '{input_spec}' names {named + (form != 'left')} axes with the batch, but "
                         f"the input {fmt_shape(in_shape)} has {len(in_shape) + 1}",
                         "write one letter per axis, the batch axis first, or use '...'", "equation")
    elided = in_shape[:len(in_shape) - named] if form == "left" else in_shape[named:]
    if form == "left" and len(elided) > 1:  # Keras 3.15 inserts them in reverse order: a wrong shape
        raise LayerError(f"'...' on the left stands for {len(elided)} axes of {fmt_shape(in_shape)} besides the "
                         "batch axis; Keras reports that output shape with those axes reversed",
                         "name those axes with letters instead of '...'", "equation")
    wanted = len(output_spec) - (0 if form == "left" else 1)
    if len(user) != wanted:
        raise LayerError(f"output_shape {user} has {len(user)} sizes, but the equation's output '{output_spec}' "
                         f"needs {wanted} (one per letter{'' if form == 'left' else ' after the batch letter'})",
                         "give one size (or null) per output letter", "output_shape")
    return elided


def _check_letters(input_spec: str, kernel_spec: str, output_spec: str, form: str) -> None:
    for part in (input_spec, kernel_spec, output_spec):
        repeated = sorted({c for c in part if part.count(c) > 1})
        if repeated:
            raise LayerError(f"'{part}' names axis '{repeated[0]}' twice", "use each letter once per part",
                             "equation")
    if form != "left" and (output_spec[0] != input_spec[0] or input_spec[0] in kernel_spec):
        raise LayerError(f"the batch letter '{input_spec[0]}' must start the output and stay out of the kernel",
                         f"write the output as '{input_spec[0]}...'", "equation")
    for c in output_spec:
        if c not in input_spec and c not in kernel_spec:
            raise LayerError(f"output letter '{c}' is in neither the input '{input_spec}' nor the kernel "
                             f"'{kernel_spec}'", "every output axis comes from the input or the kernel", "equation")
    for c in kernel_spec:
        if c not in input_spec and c not in output_spec:
            raise LayerError(f"kernel letter '{c}' is in neither the input '{input_spec}' nor the output "
                             f"'{output_spec}', so its size is unknown", "give the kernel's axes input or output "
                             "letters", "equation")


def _input_sizes(input_spec: str, form: str, in_shape: tuple) -> dict[str, Dim]:
    """Each input letter's size, the batch letter left out."""
    if form == "left":
        return dict(zip(input_spec, in_shape[len(in_shape) - len(input_spec):]))
    return dict(zip(input_spec[1:], in_shape))


def _check_shared(inputs: dict[str, Dim], outputs: dict[str, Dim]) -> None:
    for c, size in outputs.items():
        if c in inputs and size is not None and inputs[c] is not None and size != inputs[c]:
            raise LayerError(f"output_shape gives '{c}' size {size}, but the input's axis '{c}' has size {inputs[c]}",
                             f"write {inputs[c]} or null there", "output_shape")


def _kernel_size(letter: str, inputs: dict[str, Dim], outputs: dict[str, Dim]) -> int:
    """Keras takes a kernel axis from output_shape when the output has its letter, else from the input."""
    size, where = (outputs[letter], "output_shape") if letter in outputs else (inputs[letter], "the input")
    if size is None:
        fix = f"write the size of '{letter}' in output_shape" if letter in outputs else "give that axis a fixed size"
        raise LayerError(f"the kernel's axis '{letter}' takes its size from {where}, which leaves it unknown", fix,
                         "output_shape" if letter in outputs else None)
    return size


def _output(output_spec: str, form: str, user: list, elided: tuple[Dim, ...]) -> tuple[Dim, ...]:
    if form == "left":
        return tuple(elided) + tuple(user)
    return tuple(user) + (tuple(elided) if form == "right" else ())


def _bias(bias_axes: str, output_spec: str, outputs: dict[str, Dim], form: str, n_elided: int) -> tuple[int, ...]:
    """Keras's bias: from the first bias letter to the end of the output, 1 on the other axes."""
    for c in bias_axes:
        if c not in output_spec:
            raise LayerError(f"bias axis '{c}' is not in the output '{output_spec}'", "name output letters",
                             "bias_axes")
        if form != "left" and c == output_spec[0]:
            raise LayerError(f"bias axis '{c}' is the batch axis", "name other output letters", "bias_axes")
        if outputs[c] is None:
            raise LayerError(f"bias axis '{c}' needs its size in output_shape (Keras sizes the bias from it)",
                             f"write the size of '{c}' in output_shape", "output_shape")
    first = min(output_spec.index(c) for c in bias_axes)
    shape = [outputs[c] if c in bias_axes else 1 for c in output_spec[first:]]
    return tuple(shape) + ((1,) * n_elided if form == "right" else ())


# ---------------------------------------------------------------- the layer kind
def _einsum(args: Args, in_shape: Shape) -> Einsum:
    return einsum(args["equation"], args["output_shape"], args.get("bias_axes"), in_shape)


def _shape(args: Args, ins: Sequence[Shape]) -> Shape:
    return _einsum(args, ins[0]).output


def _params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    e = _einsum(args, ins[0])
    return Params(math.prod(e.kernel) + (math.prod(e.bias) if e.bias else 0))


def _macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return _einsum(args, ins[0]).macs or 0


def _explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    e = _einsum(args, ins[0])
    bias_words, bias_numbers = (f" + prod(bias '{args['bias_axes']}')", f" + {mul(*e.bias)}") if e.bias else ("", "")
    lines: list[Line] = [
        f"kernel '{e.kernel_spec}': {fmt_shape(e.kernel)}" + (f", bias {fmt_shape(e.bias)}" if e.bias else ""),
        Equation("params", f"prod(kernel){bias_words}", f"{mul(*e.kernel)}{bias_numbers}", ("params",))]
    if e.macs is None:
        return lines + ["MACs: one per combination of the letters' positions; a size is unknown, so not counted"]
    letters = "*".join(e.mac_letters) + ("*elided" if e.elided else "")
    sizes = [e.sizes[c] for c in e.mac_letters] + list(e.elided)
    return lines + [Equation("MACs", letters, mul(*sizes), ("macs",),
                             "one multiply-accumulate per combination of the letters' positions")]


def _check(args: Args) -> list[LayerError]:
    """The equation's form and letters, which need no input shape."""
    try:
        input_spec, kernel_spec, output_spec, form = _split(args["equation"])
        _check_letters(input_spec, kernel_spec, output_spec, form)
    except LayerError as error:
        return [error]
    missing = [c for c in args.get("bias_axes") or "" if c not in output_spec]
    return [LayerError(f"bias axis '{missing[0]}' is not in the output '{output_spec}'", "name output letters",
                       "bias_axes")] if missing else []


_DIM = {"type": ["integer", "null"], "minimum": 1}
EINSUM_DENSE = LayerKind(
    "EinsumDense", ATTENTION, "A dense layer written as an einsum equation (keras.layers.EinsumDense): the kernel "
    "has the axes its letters name, sized from the input and output_shape.",
    (Arg("equation", {"type": "string", "minLength": 1}, "an einsum equation such as 'abc,cd->abd'",
         "input,kernel->output letters; the first input letter is the batch axis ('...' may stand for it and the "
         "axes after it, or for trailing axes).", None, True),
     Arg("output_shape", {"oneOf": [{"type": "integer", "minimum": 1},
                                    {"type": "array", "items": _DIM}]},
         "a positive integer or a list of sizes (null: taken as unknown, as Keras does)",
         "The output's sizes without the batch axis and the axes '...' stands for.", None, True),
     A.activation(),
     Arg("bias_axes", {"type": ["string", "null"], "minLength": 1}, "output letters, or null",
         "The output axes that get a bias (null: no bias).", None)) + A.weight_args(),
    _shape, keras_layer(), _params, _macs, check=_check, explain=_explain, field_rule=FieldRule.WHOLE,
    example=(((32, 128),), {"equation": "abc,cde->abde", "output_shape": [32, 4, 16], "bias_axes": "de"}))
register_kinds(EINSUM_DENSE)
