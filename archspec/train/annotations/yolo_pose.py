"""``yolo:DIR`` keypoint labels, Ultralytics' pose layout.

``DIR/data.yaml`` states the keypoints: ``kpt_shape: [K, D]`` (required for a keypoints task;
D is 2 for ``x y`` per keypoint, 3 for ``x y v``), ``flip_idx:`` (optional: keypoint k's mirror
image under a horizontal flip, a permutation of 0..K-1) and ``kpt_names:`` (optional, as newer
Ultralytics data sets write it: a mapping from class index to its K names, or a list of such
lists; the first class's are used). Without ``flip_idx`` a flip swaps the keypoints whose names
differ by left/right, as for COCO; without ``kpt_names`` the keypoints are named 0..K-1.

A label line is ``cls cx cy w h`` then D numbers per keypoint, all coordinates normalised to
[0, 1] by the image's width and height. Visibility ``v`` is COCO's: 0 not labelled (its x, y are
ignored), 1 labelled but hidden, 2 visible; with D = 2 every keypoint is labelled and visible
(2), as Ultralytics reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import UserError
from archspec.train.annotations.yolo_labels import parse_line

_TOLERANCE = 1e-6  # as yolo_labels: float formatting of 0.0 and 1.0 by other tools


@dataclass(frozen=True)
class PoseLayout:
    """What data.yaml says about every object's keypoints."""

    count: int                    # K
    dims: int                     # D: 2 (x y) or 3 (x y v)
    flip: tuple[int, ...]         # flip_idx, or () to flip by names
    names: tuple[str, ...]        # K names

    @property
    def fields(self) -> int:
        """The number of fields of a pose label line."""
        return 5 + self.count * self.dims


def pose_layout(settings: Mapping[str, Any], path: Path) -> PoseLayout:
    """The keypoint layout data.yaml (``settings``, read from ``path``) states.

    >>> pose_layout({"kpt_shape": [3, 3], "flip_idx": [0, 2, 1]}, Path("data.yaml"))
    PoseLayout(count=3, dims=3, flip=(0, 2, 1), names=('0', '1', '2'))
    >>> pose_layout({"kpt_shape": [2, 2], "kpt_names": {0: ["left_eye", "right_eye"]}}, Path("data.yaml")).names
    ('left_eye', 'right_eye')
    """
    shape = settings.get("kpt_shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(type(v) is int for v in shape)
            and shape[0] > 0 and shape[1] in (2, 3)):
        raise UserError(f"{path}: kpt_shape is {shape!r}; a keypoints task needs kpt_shape: [K, 2] or [K, 3]"
                        if "kpt_shape" in settings else f"{path} has no kpt_shape: yolo: keypoint labels need it",
                        "write e.g. kpt_shape: [17, 3] (K keypoints, each x y v) in data.yaml")
    count, dims = shape
    return PoseLayout(count, dims, _flip_index(settings.get("flip_idx"), count, path),
                      _keypoint_names(settings.get("kpt_names"), count, path))


def _flip_index(flip: Any, count: int, path: Path) -> tuple[int, ...]:
    if flip is None:
        return ()
    if not (isinstance(flip, list) and all(type(k) is int for k in flip) and sorted(flip) == list(range(count))):
        raise UserError(f"{path}: flip_idx is {flip!r}, not a permutation of the {count} keypoints 0..{count - 1}",
                        "list each keypoint's mirror image, e.g. flip_idx: [0, 2, 1] for nose, left_eye, right_eye")
    return tuple(flip)


def _keypoint_names(names: Any, count: int, path: Path) -> tuple[str, ...]:
    if names is None:
        return tuple(str(k) for k in range(count))
    first = names
    if isinstance(names, dict):
        first = names.get(0, names.get("0"))
    elif isinstance(names, list) and names and isinstance(names[0], list):
        first = names[0]
    if not (isinstance(first, list) and len(first) == count and all(isinstance(n, (str, int)) for n in first)):
        raise UserError(f"{path}: kpt_names is {names!r}, not {count} keypoint names for class 0",
                        "write kpt_names: {0: [nose, left_eye, ...]} with one name per keypoint, or remove it")
    return tuple(str(n) for n in first)


def parse_pose_line(text: str, classes: int | None, layout: PoseLayout
                    ) -> tuple[int, np.ndarray, np.ndarray] | str:
    """(class, normalised box x1 y1 x2 y2, keypoints (K, 3) normalised x, y and v), or what is wrong.

    >>> layout = PoseLayout(2, 3, (), ("a", "b"))
    >>> cls, box, points = parse_pose_line("0 0.5 0.5 0.4 0.4 0.4 0.5 2 0.9 0.9 0", 1, layout)
    >>> cls, box.round(3).tolist(), points.round(3).tolist()
    (0, [0.3, 0.3, 0.7, 0.7], [[0.4, 0.5, 2.0], [0.0, 0.0, 0.0]])
    >>> parse_pose_line("0 0.5 0.5 0.4 0.4 0.4 0.5", 1, layout)
    '7 fields; with kpt_shape [2, 3] a line is 11 (cls cx cy w h, then x y v per keypoint)'
    >>> parse_pose_line("0 0.5 0.5 0.4 0.4 0.4 0.5 3 0.9 0.9 0", 1, layout)
    'keypoint 0 (a): visibility 3 is not 0, 1 or 2'
    """
    fields = text.split()
    if len(fields) != layout.fields:
        return (f"{len(fields)} field{'s' if len(fields) != 1 else ''}; with kpt_shape [{layout.count}, "
                f"{layout.dims}] a line is {layout.fields} (cls cx cy w h, then x y{' v' * (layout.dims == 3)} "
                "per keypoint)")
    parsed = parse_line(" ".join(fields[:5]), classes)
    if isinstance(parsed, str):
        return parsed
    try:
        values = np.array([float(v) for v in fields[5:]], np.float64).reshape(layout.count, layout.dims)
    except ValueError:
        return f"keypoints are not numbers: {' '.join(fields[5:])[:60]!r}"
    if layout.dims == 2:
        values = np.column_stack([values, np.full(layout.count, 2.0)])
    problem = _keypoints_problem(values, layout.names)
    if problem:
        return problem
    labelled = values[:, 2:] > 0
    return parsed[0], parsed[1], np.where(labelled, values, 0.0)


def _keypoints_problem(values: np.ndarray, names: tuple[str, ...]) -> str | None:
    for k, (x, y, v) in enumerate(values):
        if v not in (0.0, 1.0, 2.0):
            return f"keypoint {k} ({names[k]}): visibility {v:g} is not 0, 1 or 2"
        inside = np.isfinite([x, y]).all() and min(x, y) >= -_TOLERANCE and max(x, y) <= 1 + _TOLERANCE
        if v > 0 and not inside:
            return f"keypoint {k} ({names[k]}): x {x:g}, y {y:g} outside [0, 1]"
    return None
