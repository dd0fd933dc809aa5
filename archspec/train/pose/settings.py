"""``train.keypoints``: the spec's pose settings checked against the model's K heatmap channels.

Defaults (stated in the schema too): every OKS sigma 0.05 (between COCO's face constants,
0.025-0.035, and its body ones, 0.062-0.107), no skeleton, PCK at 0.05 of the longer side,
keypoint names from the data's class names when there is one per channel (``builtin:shapes``:
circle, square, triangle), else the channel numbers; on object data the data's keypoint names
(``keypoint_names``) and target Gaussians of ``heatmap_sigma`` 2 heatmap pixels (``heatmaps``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from archspec.errors import Location, SpecError, SpecErrors, Stage
from archspec.train.pose.heatmaps import DEFAULT_HEATMAP_SIGMA

DEFAULT_SIGMA = 0.05
DEFAULT_PCK = 0.05


@dataclass(frozen=True)
class PoseSettings:
    sigmas: tuple[float, ...]
    skeleton: tuple[tuple[int, int], ...]
    pck: float
    names: tuple[str, ...]
    heatmap_sigma: float = DEFAULT_HEATMAP_SIGMA  # object data: the target Gaussians' sigma, heatmap pixels


def pose_settings(section: Mapping[str, Any], keypoints: int, class_names: Sequence[str] | None = None,
                  locate: Callable[[tuple], Location | None] = lambda path: None) -> PoseSettings:
    """The settings for a model with ``keypoints`` heatmap channels; SpecErrors at the spec's lines.

    >>> pose_settings({"skeleton": [[0, 2]]}, 3, ("circle", "square", "triangle"))
    PoseSettings(sigmas=(0.05, 0.05, 0.05), skeleton=((0, 2),), pck=0.05, names=('circle', 'square', 'triangle'), \
heatmap_sigma=2.0)
    >>> pose_settings({"sigmas": [0.1, 0.2], "skeleton": [[0, 3]]}, 3)
    Traceback (most recent call last):
    archspec.errors.SpecErrors: train.keypoints.sigmas has 2 values but the model outputs 3 heatmap channels; \
give one sigma per channel, or leave sigmas out for 0.05 each
    (1 more error; run with --all-errors to see every one)
    """
    errors = []
    sigmas = tuple(float(s) for s in section.get("sigmas", ())) or (DEFAULT_SIGMA,) * keypoints
    names = tuple(section.get("names", ())) or \
        (tuple(class_names) if class_names and len(class_names) == keypoints else tuple(map(str, range(keypoints))))
    for key, values, what in (("sigmas", sigmas, "sigma"), ("names", names, "name")):
        if len(values) != keypoints:
            default = "0.05 each" if key == "sigmas" else "the channel numbers"
            errors.append(SpecError(f"train.keypoints.{key} has {len(values)} values but the model outputs "
                                    f"{keypoints} heatmap channels",
                                    f"give one {what} per channel, or leave {key} out for {default}",
                                    locate(("train", "keypoints", key))))
    skeleton = tuple((int(a), int(b)) for a, b in section.get("skeleton", ()))
    for i, pair in enumerate(skeleton):
        if max(pair) >= keypoints:
            errors.append(SpecError(f"train.keypoints.skeleton[{i}] joins keypoint {max(pair)} but the model has "
                                    f"{keypoints} (0..{keypoints - 1})", "use 0-based channel indices",
                                    locate(("train", "keypoints", "skeleton", i))))
    if errors:
        raise SpecErrors(errors, Stage.TRAIN)
    return PoseSettings(sigmas, skeleton, float(section.get("pck", DEFAULT_PCK)), names,
                        float(section.get("heatmap_sigma", DEFAULT_HEATMAP_SIGMA)))


def keypoint_names(summary: Mapping[str, Any]) -> Sequence[str] | None:
    """The names a run's data.json gives its keypoints: object data's own, else its class names.

    >>> keypoint_names({"class_names": ["person"], "keypoint_names": ["nose", "left_eye"]})
    ['nose', 'left_eye']
    """
    return summary.get("keypoint_names") or summary.get("class_names")
