"""Hostile and generated specs: each class of failure the mutation harness found (tests/mutations.py)
is an ordinary error at the right line, with exit 2, and no traceback, hang or memory blow-up."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.api import compile_text
from archspec.cli import main
from layer_samples import SAMPLES

HEAD = "archspec: 1\nname: hostile\ninput: [8, 8, 3]\n"  # lines 1-3
LAYERS = "layers:\n  - Flatten\n  - Dense: {units: 2}\n"  # a valid tail


def _dense(units: str) -> str:
    """A spec whose Dense layer (line 6) has ``units`` as written."""
    return HEAD + f"layers:\n  - Flatten\n  - Dense: {{units: {units}}}\n"


def _var(value: str) -> str:
    """A spec whose var ``v`` (line 5) is ``value`` and is used by the Dense layer (line 8)."""
    return HEAD + f"vars:\n  v: {value}\nlayers:\n  - Flatten\n  - Dense: {{units: \"${{v * 1}}\"}}\n"


def _billion_laughs() -> str:
    levels = [f"&l0 [{', '.join(['lol'] * 10)}]"] + \
        [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return HEAD + f"vars:\n  lol: [{', '.join(levels)}]\n" + LAYERS


def _nested_blocks(levels: int) -> str:
    blocks = "".join(f"  B{i}:\n    layers:\n      - B{i + 1}: {{}}\n" for i in range(levels)) + \
        f"  B{levels}:\n    layers:\n      - Dense: {{units: 2}}\n"
    return HEAD + "blocks:\n" + blocks + "layers:\n  - B0: {}\n"


def _fanout_blocks(levels: int, uses: int) -> str:
    """Blocks that use the next one ``uses`` times: uses ** levels layers without one repeat."""
    blocks = "".join(f"  B{i}:\n    layers:\n" + f"      - B{i + 1}: {{}}\n" * uses for i in range(levels - 1))
    blocks += f"  B{levels - 1}:\n    layers:\n" + "      - Dense: {units: 2}\n" * uses
    return HEAD + "blocks:\n" + blocks + "layers:\n  - B0: {}\n"


# (id, spec text, line of the first error, a fragment of its message)
HOSTILE = [
    # expressions: refused before computing, whatever the size they would reach
    ("tower_of_powers", _dense('"${9 ** 9 ** 9}"'), 6, "'9 ** 387420489' would have about 369,693,100 digits"),
    ("power_past_str_limit", _dense('"${10 ** 4301}"'), 6, "would have about 4,302 digits, more than the 300"),
    ("nested_powers", _dense('"${((10 ** 64) ** 64) ** 64}"'), 6, "would have about 4,097 digits"),
    ("text_repetition", _dense("\"${'a' * 10 ** 9}\""), 6, "would be 1,000,000,000 characters long"),
    ("float_overflow", _dense('"${1e308 * 10}"'), 6, "'1e+308 * 10' overflows to infinity"),
    ("float_power_overflow", _dense('"${2.5 ** 1000}"'), 6, "'2.5 ** 1000' overflows to infinity"),
    ("complex_result", _dense('"${(-1) ** 0.5}"'), 6, "is a complex number"),
    ("int_of_huge_float", _dense('"${int(1e308)}"'), 6, "'int(1e+308)' has about 309 digits"),
    ("infinity_by_name", _dense("\"${ceil(float('inf'))}\""), 6, "'float('inf')' is infinite"),
    ("round_to_huge_digits", _dense('"${round(5, -10 ** 7)}"'), 6, "rounds to -10,000,000 digits"),
    ("long_sum", _dense('"${' + "+".join(["1"] * 100_000) + '}"'), 6, "characters long, more than the 1,000"),
    ("deep_unary", _dense('"${' + "-" * 200 + '1}"'), 6, "nested more than 50 levels deep"),
    ("many_parts", _dense('"${max(' + ",".join(["-1"] * 300) + ')}"'), 6, "has more than 500 parts"),
    ("text_formatting", _dense("\"${'%0999999999d' % 1}\""), 6, "cannot compute"),
    ("infinite_var", _var("-.inf"), 8, "'v' is infinite"),
    ("nan_var", _var(".nan"), 8, "'v' is not a number (nan)"),
    ("huge_literal_var", _var("1" + "0" * 4000), 8, "'v' has about 4,001 digits"),
    # YAML: aliases, recursion, nesting, keys
    ("billion_laughs", _billion_laughs(), 5, "aliases expand the document past 100,000 values"),
    ("recursive_alias", HEAD + "vars:\n  x: &a [1, *a]\n" + LAYERS, 5, "the alias *a is inside its own anchor &a"),
    ("recursive_merge", HEAD + "vars:\n  x: &m {a: {<<: *m}}\n" + LAYERS, 5, "inside its own anchor &m"),
    ("deep_flow_nesting", HEAD + "vars:\n  x: " + "[" * 100_000 + "]" * 100_000 + "\n" + LAYERS, 5,
     "nests mappings and lists more than 50 levels deep"),
    ("deep_block_nesting", HEAD + "vars:\n  x:\n" + "    " + "- " * 10_000 + "1\n" + LAYERS, 6,
     "more than 50 levels deep"),
    ("key_not_text", HEAD + "blocks:\n  B:\n    params: {true: 1}\n    layers: [Flatten]\n" + LAYERS, 6,
     "the key 'true' is read as a boolean, but keys must be text"),
    # layer counts: refused before anything is expanded, at the repeat (or block use)
    ("repeat_a_billion", HEAD + "layers:\n  - Dense: {units: 2}\n    repeat: 1000000000\n", 6,
     "this entry (repeat: 1,000,000,000 of 1 layer) takes the model to 1,000,000,000 layers, more than the 100,000"),
    ("repeat_by_expression", HEAD + "layers:\n  - Dense: {units: 2}\n    repeat: \"${2 ** 64}\"\n", 6,
     "repeat: 18,446,744,073,709,551,616 of 1 layer"),
    ("repeat_a_block", HEAD + "blocks:\n  B:\n    layers:\n      - Dense: {units: 2}\n      - Dense: {units: 2}\n"
     "layers:\n  - B: {}\n    repeat: 600000\n", 11, "(repeat: 600,000 of 2 layers) takes the model to 1,200,000"),
    ("block_fanout", _fanout_blocks(7, 10), 90, "this entry (block 'B0' of 10,000,000 layers)"),
    ("blocks_nested_too_deep", _nested_blocks(60), 154, "blocks nest more than 50 deep here"),
    # sizes no tensor can have, and numbers that are not the integers they stand for
    ("huge_input_size", HEAD.replace("[8, 8, 3]", "[8, 1000000000000000000000000000000, 3]") + LAYERS, 3,
     "input 'input' has a size (a 31-digit integer) larger than 2**63 - 1"),
    ("huge_units", _dense("100000000000000000000"), 6,
     "'units' holds 100,000,000,000,000,000,000, larger than 2**63 - 1"),
    ("float_for_integer", _dense("2.0"), 6, "'units' must be a positive integer; received: 2.0"),
    ("float_overflowing_totals", _dense("1e308"), 6, "'units' must be a positive integer; received: 1e+308"),
    ("nan_argument", HEAD + "layers:\n  - BatchNormalization: {epsilon: .nan}\n  - Flatten\n", 5,
     "'epsilon' must be a number >= 0; received: nan"),
    ("zero_units", _dense("0"), 6, "'units' must be a positive integer; received: 0"),
    ("zero_groups", HEAD + "layers:\n  - GroupNormalization: {groups: 0}\n  - Flatten\n", 5,
     "groups must be -1 (one group per channel) or a positive number; received: 0"),
    # long text: linear scans, and messages that quote it cut short
    ("run_of_openers", _dense('"' + "${" * 200_000 + '"'), 6, "'units' must be a positive integer; received: '${${"),
    ("long_unknown_kind", HEAD + "layers:\n  - ? " + "X" * 1_000_000 + "\n    : {}\n", 5, "unknown layer or block 'XXX"),
    ("long_unknown_name", HEAD + "layers:\n  - Flatten: {}\n    inputs: " + "n" * 1_000_000 + "\n", 6,
     "unknown name 'nnn"),
    ("negative_repeat", HEAD + "layers:\n  - Dense: {units: 2}\n    repeat: -1\n", 6, "repeat"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text, line, fragment", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_spec_is_an_error_at_its_line(text: str, line: int, fragment: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("hostile.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "hostile.yaml"])
    first = result.stderr.splitlines()[0] if result.stderr else ""
    assert result.exit_code == 2, result.output[-2000:]
    assert first.startswith(f"hostile.yaml:{line}:"), first[:500]
    assert fragment in first, first[:500]
    assert max(len(line) for line in result.stderr.splitlines()) < 1_000, "messages quote values cut short"


def test_repeat_one_numbers_its_instance_and_the_name_refers_to_it() -> None:
    text = HEAD + """vars: {n: 1}
layers:
  - Flatten
  - Dense: {units: 4}
    name: hidden
    repeat: $n
  - Dense: {units: 4}
    inputs: hidden
    name: head
  - Add: {}
    inputs: [hidden_1, head]
"""
    graph = compile_text(text).graph
    names = [n.name for n in graph.nodes]
    assert "hidden_1" in names and "hidden" not in names
    assert graph.node("head").inputs == ("hidden_1",)
    assert graph.node("add_1").inputs == ("hidden_1", "head")


def test_an_expression_driven_repeat_keeps_names_when_it_drops_from_two_to_one() -> None:
    """The motivating case: the count falls from 2 to 1 and references to NAME_1 still resolve."""
    def spec(n: int) -> str:
        return HEAD + f"""vars: {{n: {n}}}
blocks:
  Unit:
    layers:
      - Conv2D: {{filters: 3, kernel_size: 3, padding: same}}
layers:
  - Unit: {{}}
    name: unit
    repeat: $n
  - Add: {{}}
    inputs: [unit_1, unit]
  - Flatten
"""
    two, one = compile_text(spec(2)).graph, compile_text(spec(1)).graph
    assert two.node("add_1").inputs == ("unit_1/conv2d_1", "unit_2/conv2d_1")
    assert one.node("add_1").inputs == ("unit_1/conv2d_1", "unit_1/conv2d_1")


def test_an_entry_without_repeat_keeps_its_plain_name() -> None:
    graph = compile_text(HEAD + "layers:\n  - Flatten\n  - Dense: {units: 2}\n    name: head\n").graph
    assert [n.name for n in graph.nodes] == ["flatten_1", "head"]


def test_limits_admit_a_large_generated_spec() -> None:
    """The layer limit is far above real networks: 2,000 layers made by repeat and by blocks pass."""
    text = HEAD + """blocks:
  Pair:
    layers:
      - Dense: {units: 4}
      - Dense: {units: 4}
layers:
  - Flatten
  - Pair: {}
    repeat: 500
  - Dense: {units: 4}
    repeat: 999
"""
    assert len(compile_text(text).graph.nodes) == 2_000


def test_aliases_shared_by_every_layer_are_not_a_bomb() -> None:
    """yaml.dump writes a Python object used by many layers as one anchor and many aliases:
    that stays far below the alias limit's factor, however many layers share it."""
    import yaml

    shared = {"units": 4, "activation": "relu", "use_bias": False}
    data = {"archspec": 1, "name": "generated", "input": [8], "layers": [{"Dense": shared} for _ in range(3_000)]}
    text = yaml.safe_dump(data, sort_keys=False)
    assert text.count("*id001") == 2_999
    assert len(compile_text(text).graph.nodes) == 3_000


HOSTILE_ARGUMENTS = [0, -1, 2 ** 63, 1e308, float("nan"), "", None, [0, 0]]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_argument_of_every_kind_takes_hostile_values(kind: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each argument a kind takes (not only those its samples set), set to zero, a negative,
    a size past int64, a float that overflows, nan, empty text, null and a list of zeros: an
    error at its line or a valid model, never an internal error."""
    import yaml

    from archspec.layers.catalog import all_kinds
    from mutations import COMMANDS, problems_of

    monkeypatch.chdir(tmp_path)
    shape, args = SAMPLES[kind][0]
    shapes = shape if isinstance(shape[0], list) else [shape]
    names = [f"in{i}" for i in range(len(shapes))]
    found = []
    for arg in all_kinds()[kind].arg_map:
        for value in HOSTILE_ARGUMENTS:
            spec = {"archspec": 1, "name": "hostile", "inputs": dict(zip(names, shapes)),
                    "layers": [{kind: {**args, arg: value}, "inputs": names}]}
            Path("hostile.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
            argv = COMMANDS["summary"]
            result = CliRunner().invoke(main, [*argv, "hostile.yaml"])
            found += [f"{arg}={value!r}: {p}" for p in problems_of("hostile.yaml", argv, result.exit_code,
                                                                   result.stdout, result.stderr, result.exception, 0)]
    assert found == []
