"""A shared block instance's copies are checked like the instance: the ``expect:`` written in
the block holds for every copy, and a copy's failure names the ``share:`` entry that made it
(the member's line is in the block, which every use shares)."""
from __future__ import annotations

import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors, Stage

TOWERS = """archspec: 1
name: towers
inputs:
  left: [12, 12, 1]
  right: [12, 12, 1]
blocks:
  Tower:
    layers:
      - Conv2D: {filters: 4, kernel_size: 3}
        expect: [10, 10, 4]
      - GlobalAveragePooling2D
      - Dense: {units: 5}
layers:
  - Tower: {}
    name: tower_l
    inputs: left
  - Flatten: {}
    inputs: right
    name: flat
  - Reshape: {target_shape: [12, 12, 1]}
    name: same_right
  - share: tower_l
    name: tower_r
    inputs: same_right
  - Concatenate: {}
    inputs: [tower_l, tower_r]
"""


def _errors(text: str) -> list:
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml")
    return caught.value.errors


def test_every_copy_of_a_shared_instance_is_expected_alike() -> None:
    graph = compile_text(TOWERS).graph
    assert [(e.node, e.shape, e.loc.line) for e in graph.expectations] == \
        [("tower_l/conv2d_1", (10, 10, 4), 10), ("tower_r/conv2d_1", (10, 10, 4), 10)]


def test_a_copy_that_breaks_the_block_s_expect_names_its_share() -> None:
    [error] = _errors(TOWERS.replace("right: [12, 12, 1]", "right: [14, 14, 1]").replace(
        "target_shape: [12, 12, 1]", "target_shape: [14, 14, 1]"))
    assert error.stage is Stage.EXPECTATIONS and error.loc.line == 10
    assert error.message == ("'tower_r/conv2d_1' outputs [12, 12, 4] but expect says [10, 10, 4] "
                             "(in 'tower_r', the share: of 'tower_l' at line 22)")


def test_a_copy_whose_member_needs_other_weights_names_its_share() -> None:
    [error] = _errors(TOWERS.replace("right: [12, 12, 1]", "right: [12, 12, 2]").replace(
        "target_shape: [12, 12, 1]", "target_shape: [12, 12, 2]"))
    assert error.stage is Stage.SHAPES and error.loc.line == 9
    assert error.message == ("Conv2D 'tower_r/conv2d_1' shares the weights of 'tower_l/conv2d_1', which takes "
                             "[12, 12, 1] (40 params), but it takes [12, 12, 2], which would need 76 "
                             "(in 'tower_r', the share: of 'tower_l' at line 22)")


def test_a_copy_whose_member_cannot_take_its_input_names_its_share() -> None:
    [error] = _errors(TOWERS.replace("target_shape: [12, 12, 1]", "target_shape: [144, 1]"))
    assert error.stage is Stage.SHAPES and error.loc.line == 9
    assert error.message.endswith("(in 'tower_r', the share: of 'tower_l' at line 22)"), error.message
