"""Bad object data, collected over a whole data set and reported at once, before training.

Each problem names its file and the annotation id (or label file and line). Many problems
are shown as the first :data:`SHOWN` with a count of the rest, so a data set with a systematic
mistake gives one readable message, not ten thousand lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archspec.errors import UserError

SHOWN = 10
# A box may end this far past the image's edge (annotation tools round outwards) and is clipped.
EDGE_TOLERANCE = 1.0
# Annotation files bigger than this are refused: the JSON is parsed into memory whole.
MAX_JSON_BYTES = 512 * 1024 ** 2


@dataclass
class Problems:
    """Problems found in one data set; :meth:`raise_if_any` stops with all of them.

    >>> problems = Problems("coco:a.json")
    >>> for i in range(12):
    ...     problems.add(f"a.json: annotation {i}: zero-size box")
    >>> print(problems.error().message)  # doctest: +ELLIPSIS
    12 problems in the annotations of coco:a.json (fix or remove them; the data is checked before training starts):
      a.json: annotation 0: zero-size box
    ...
      a.json: annotation 9: zero-size box
      ... and 2 more
    """

    description: str
    found: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.found) < SHOWN:  # a count is enough for the rest: memory stays bounded
            self.found.append(text)

    def __bool__(self) -> bool:
        return self.count > 0

    def error(self) -> UserError:
        if self.count == 1:
            return UserError(self.found[0], "fix or remove it; the data is checked before training starts")
        more = self.count - len(self.found)
        lines = [f"{self.count} problems in the annotations of {self.description} "
                 "(fix or remove them; the data is checked before training starts):"]
        lines += [f"  {text}" for text in self.found] + ([f"  ... and {more} more"] if more else [])
        return UserError("\n".join(lines))

    def raise_if_any(self) -> None:
        if self:
            raise self.error()


def box_problem(box: np.ndarray, height: int, width: int) -> str | None:
    """What is wrong with an x1, y1, x2, y2 box in a height x width image, or None.

    >>> box_problem(np.array([0, 0, 10, 10.5]), 10, 10) is None
    True
    >>> box_problem(np.array([5, 5, 5, 8]), 10, 10)
    'box [5, 5, 5, 8] has zero or negative size (width 0, height 3)'
    >>> box_problem(np.array([-3, 0, 4, 4]), 10, 10)
    'box [-3, 0, 4, 4] extends past the 10x10 image (by 3 pixels; the tolerance is 1)'
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    shown = "[" + ", ".join(f"{v:g}" for v in (x1, y1, x2, y2)) + "]"
    if not np.all(np.isfinite(box)):
        return f"box {shown} is not finite"
    if x2 <= x1 or y2 <= y1:
        return f"box {shown} has zero or negative size (width {x2 - x1:g}, height {y2 - y1:g})"
    beyond = max(-x1, -y1, x2 - width, y2 - height)
    if beyond > EDGE_TOLERANCE:
        return (f"box {shown} extends past the {width}x{height} image "
                f"(by {beyond:g} pixels; the tolerance is {EDGE_TOLERANCE:g})")
    return None


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boxes clipped to the image (those within the tolerance end exactly at its edge).

    >>> clip_boxes(np.array([[-0.5, 0, 10.5, 9]], np.float32), 9, 10).tolist()
    [[0.0, 0.0, 10.0, 9.0]]
    """
    limits = np.array([width, height, width, height], np.float32)
    return np.clip(boxes, 0.0, limits).astype(np.float32)


def check_same_categories(train: Any, validation: Any) -> None:
    """A separate validation set must have the training set's categories (ids and names, in order):
    class i is the i-th category by id in both, so another list would score one class as another.

    >>> from archspec.train.annotations.records import Category
    >>> one = type("Data", (), {"description": "coco:t.json", "categories": (Category(1, "cat"), Category(2, "dog"))})
    >>> other = type("Data", (), {"description": "coco:v.json", "categories": (Category(1, "dog"), Category(2, "cat"))})
    >>> check_same_categories(one, one)
    >>> try:
    ...     check_same_categories(one, other)
    ... except UserError as exc:
    ...     print(exc.message)
    coco:v.json has the categories 1 'dog', 2 'cat' but the training data coco:t.json has 1 'cat', 2 'dog'; class 0 would mean another category in each
    """
    def listed(data: Any) -> list[tuple[int, str]]:
        return [(int(c.id), c.name) for c in data.categories]

    if listed(train) == listed(validation):
        return

    def shown(data: Any) -> str:
        text = ", ".join(f"{cid} {name!r}" for cid, name in listed(data)[:8])
        return text + (", ..." if len(data.categories) > 8 else "")

    first = next((i for i, (a, b) in enumerate(zip(listed(train), listed(validation))) if a != b),
                 min(len(train.categories), len(validation.categories)))
    raise UserError(f"{validation.description} has the categories {shown(validation)} but the training data "
                    f"{train.description} has {shown(train)}; class {first} would mean another category in each",
                    "give both files the same categories list (ids and names), even for categories a file has no "
                    "annotations of")
