"""The JSON Schema (Draft 2020-12) of a spec's ``train:`` section.

The spine embeds :data:`TRAIN_SCHEMA` under the top-level property ``train``; this module is
plain data and never imports TensorFlow. Keras objects are written as in the rest of the
language, by their Keras class name: ``{Adam: {learning_rate: 0.001}}``,
``{EarlyStopping: {patience: 3}}``, ``{RandomFlip: {mode: horizontal}}``. Whether a name
exists in Keras is checked when training starts, with the spec line in the message.
"""
from __future__ import annotations

from typing import Any

from archspec.train.annotations.source_schema import OBJECT_SOURCES

TASKS = ("classification", "multilabel", "regression", "segmentation", "keypoints", "detection",
         "instance_segmentation")
BUILTINS = ("digits", "shapes")
STRATEGIES = ("default", "mirrored", "multi-worker")


def _keras_object(what: str, example: str) -> dict[str, Any]:
    """A Keras object: its class name alone, or a one-key mapping {ClassName: {args}}."""
    return {
        "description": f"{what}: a Keras class name, or {{ClassName: {{arguments}}}} with "
                       f"Keras's own argument names, e.g. {example}",
        "oneOf": [
            {"type": "string", "minLength": 1, "description": "the class name with default arguments"},
            {"type": "object", "minProperties": 1, "maxProperties": 1,
             "description": "{ClassName: {arguments}}",
             "additionalProperties": {"type": ["object", "null"],
                                      "description": "the constructor's keyword arguments as a mapping, "
                                                     "{argument: value, ...}, or nothing for the defaults"}},
        ],
    }


_FEATURE = {
    "type": "object",
    "description": "how one feature of a tf.train.Example is parsed",
    "additionalProperties": False,
    "required": ["dtype"],
    "properties": {
        "dtype": {"enum": ["string", "int64", "float32"],
                  "description": "the feature's stored type (tf.io.FixedLenFeature dtype)"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 1},
                  "description": "the feature's fixed shape; [] for a scalar (default)"},
        "decode": {"enum": ["image", "png", "jpeg", "raw"],
                   "description": "for a string feature: decode an encoded image, or read raw "
                                  "bytes as `raw_dtype` reshaped to `raw_shape`"},
        "raw_dtype": {"enum": ["uint8", "float32", "int32", "int64"],
                      "description": "element type of raw bytes (decode: raw)"},
        "raw_shape": {"type": "array", "items": {"type": "integer", "minimum": 1},
                      "description": "shape of the decoded raw tensor (decode: raw)"},
    },
}

_PATH = {"type": "string", "minLength": 1}

SOURCE_SCHEMA: dict[str, Any] = {
    "description": "where samples come from: {builtin: digits|shapes}, {npz: file}, {images: dir}, "
                   "{tfrecord: glob, features: ...}, {coco: file.json} or {yolo: dir}; relative paths are "
                   "relative to the spec file",
    "oneOf": [
        {
            "type": "object", "required": ["builtin"], "additionalProperties": False,
            "description": "a data set that ships with archspec (no download)",
            "properties": {
                "builtin": {"enum": list(BUILTINS),
                            "description": "digits: scikit-learn's 1,797 real 8x8 handwritten digits; "
                                           "shapes: generated circles, squares and triangles with "
                                           "masks, multi-labels, counts and keypoint heatmaps"},
                "samples": {"type": "integer", "minimum": 10,
                            "description": "shapes only: number of images (default 2000)"},
                "size": {"type": "integer", "minimum": 8,
                         "description": "shapes only: image side in pixels (default 32; 64 for the "
                                        "objects of detection, instance_segmentation)"},
                "channels": {"enum": [1, 3], "description": "shapes only: 1 gray or 3 colour (default 1)"},
                "seed": {"type": "integer", "description": "shapes only: generator seed (default 0)"},
                "objects": {"type": "integer", "minimum": 1, "maximum": 20,
                            "description": "shapes only, object tasks: most shapes in one image (default 4); "
                                           "with task: keypoints it trains on the shapes' three corner "
                                           "keypoints as objects instead of one heatmap per shape kind"},
            },
        },
        {
            "type": "object", "required": ["npz"], "additionalProperties": False,
            "description": "arrays in a NumPy .npz file",
            "properties": {
                "npz": {**_PATH, "description": "path of the .npz file"},
                "x": {"type": "string", "description": "name of the inputs array (default x)"},
                "y": {"type": "string", "description": "name of the targets array (default y)"},
            },
        },
        {
            "type": "object", "required": ["images"], "additionalProperties": False,
            "description": "one sub-folder per class, as keras.utils.image_dataset_from_directory reads "
                           "(.png, .jpg, .jpeg, .bmp, .gif)",
            "properties": {
                "images": {**_PATH, "description": "the folder holding one sub-folder per class"},
                "class_names": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                                "description": "sub-folders to use, in label order (default: all, sorted)"},
            },
        },
        {
            "type": "object", "required": ["tfrecord", "features"], "additionalProperties": False,
            "description": "TFRecord files of tf.train.Example records",
            "properties": {
                "tfrecord": {**_PATH, "description": "a file or glob pattern, e.g. data/train-*.tfrecord"},
                "features": {"type": "object", "minProperties": 1, "additionalProperties": _FEATURE,
                             "description": "feature name -> how to parse it"},
                "x": {"type": "string", "description": "the feature holding the input (default image)"},
                "y": {"type": "string", "description": "the feature holding the target (default label)"},
                "compression": {"enum": ["", "GZIP", "ZLIB"], "description": "file compression"},
            },
        },
        *OBJECT_SOURCES,
    ],
}

# task: detection (and instance_segmentation, which shares its assignment and decoding).
DETECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "settings of task: detection (the head itself is the spec's head: section)",
    "additionalProperties": False,
    "properties": {
        "score_threshold": {"type": "number", "minimum": 0, "maximum": 1,
                            "description": "keep decoded boxes scoring at least this (default 0.001, as "
                                           "COCO evaluation does; predict shows boxes >= 0.25)"},
        "iou_threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                          "description": "non-maximum suppression merges boxes of one class overlapping "
                                         "more than this IoU (default 0.6)"},
        "max_detections": {"type": "integer", "minimum": 1,
                           "description": "boxes kept per image after NMS (default 100)"},
        "max_objects": {"type": "integer", "minimum": 1,
                        "description": "objects per image the targets hold; beyond it the largest are kept, with "
                                       "a warning (default 100)"},
        "anchor_ratio": {"type": "number", "exclusiveMinimum": 1,
                         "description": "an anchor is matched to an object when their widths and heights "
                                        "differ by less than this factor (default 4.0, YOLOv5's anchor_t)"},
        "level_sizes": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1,
                        "description": "anchor-free heads: where each level but the last hands objects to the "
                                       "next, as the object's longer side in input pixels, increasing (default "
                                       "4 x each level's stride: 32, 64 at strides 8, 16, 32)"},
        "box_weight": {"type": "number", "minimum": 0, "description": "weight of the CIoU box loss "
                                                                      "(default 0.05)"},
        "objectness_weight": {"type": "number", "minimum": 0,
                              "description": "weight of the objectness BCE (default 1.0); anchor-free heads: of "
                                             "the IoU-aware class BCE, which takes objectness's place"},
        "class_weight": {"type": "number", "minimum": 0, "description": "weight of the class BCE of heads with "
                                                                        "anchors (default 0.5)"},
        "mask_weight": {"type": "number", "minimum": 0,
                        "description": "instance_segmentation: weight of the mask BCE, averaged over every "
                                       "match of every level (default 0.15, YOLOv5-seg's 0.05 on each of 3 levels)"},
    },
}

# task: keypoints (one heatmap channel per keypoint); read by archspec.train.pose.
KEYPOINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "settings of task: keypoints: how its PCK and OKS AP are measured and its "
                   "predictions drawn",
    "additionalProperties": False,
    "properties": {
        "sigmas": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1,
                   "description": "COCO's per-keypoint OKS constants, one per heatmap channel (default "
                                  "0.05 for every keypoint; COCO's 17 are 0.026 (nose) to 0.107 (hips))"},
        "skeleton": {"type": "array", "description": "the pairs of keypoints joined by a line in predict's "
                                                     "picture, as 0-based channel indices, e.g. [[0, 1], [1, 2]]",
                     "items": {"type": "array", "items": {"type": "integer", "minimum": 0},
                               "minItems": 2, "maxItems": 2}},
        "pck": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                "description": "PCK's threshold as a fraction of the object's longer side, the whole "
                               "image's for heatmap data (default 0.05)"},
        "names": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                  "description": "a name per keypoint, in channel order (default: object data's keypoint "
                                 "names, else the data's class names when there is one per channel, else 0, 1, ...)"},
        "heatmap_sigma": {"type": "number", "exclusiveMinimum": 0,
                          "description": "object data (coco:, builtin:shapes with objects:): the standard deviation "
                                         "of each keypoint's target Gaussian, in heatmap pixels (default 2)"},
    },
}

_AUGMENT_ITEM = _keras_object("a Keras preprocessing layer applied to training batches only",
                              "{RandomFlip: {mode: horizontal}}")

DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "the input pipeline (tf.data)",
    "additionalProperties": False,
    "properties": {
        "source": SOURCE_SCHEMA,
        "validation": {**SOURCE_SCHEMA,
                       "description": "a separate validation source; when given, validation_split is unused"},
        "validation_split": {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                             "description": "fraction of the source held out for validation, chosen "
                                            "by the seed (default 0.2; 0 for none)"},
        "batch_size": {"type": "integer", "minimum": 1,
                       "description": "global batch size, split over replicas (default 32)"},
        "shuffle": {"type": "boolean",
                    "description": "shuffle training samples; each epoch's order is a function of "
                                   "seed and epoch (default true)"},
        "shuffle_buffer": {"type": "integer", "minimum": 1,
                           "description": "buffer size for sources read as a stream (tfrecord, file "
                                          "cache); in-memory data is fully permuted (default 10000)"},
        "cache": {"description": "true: keep decoded samples in memory; false: decode every epoch; "
                                 "a path: a tf.data file cache there, read as a stream (default true)",
                  "type": ["boolean", "string"]},
        "resize": {"type": ["boolean", "null"],
                   "description": "resize images (and masks) to the model's input size and adapt "
                                  "channels (default: true for builtin sources, false otherwise)"},
        "rescale": {"type": ["number", "null"],
                    "description": "multiply pixel values by this (default: 1/255 for images, "
                                   "uint8 arrays and encoded records; builtin data is in [0, 1])"},
        "augment": {"type": "array", "items": _AUGMENT_ITEM,
                    "description": "Keras preprocessing layers (RandomFlip, RandomRotation, RandomZoom, "
                                   "RandomTranslation, RandomCrop, RandomContrast, ...) run in the "
                                   "tf.data pipeline on training batches, in order; off for evaluation"},
    },
}

TRAIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "what `archspec train` needs; every key has a default and can be overridden "
                   "with --set train.KEY=VALUE",
    "additionalProperties": False,
    "properties": {
        "task": {"enum": list(TASKS),
                 "description": "sets default loss, metrics and output checks (default classification)"},
        "data": DATA_SCHEMA,
        "keypoints": KEYPOINTS_SCHEMA,
        "detection": DETECTION_SCHEMA,
        "optimizer": _keras_object("the optimizer (default {Adam: {learning_rate: 0.001}}); "
                                   "learning_rate may itself be a schedule such as "
                                   "{CosineDecay: {initial_learning_rate: 0.1}} (decay_steps defaults "
                                   "to the run's total steps)", "{SGD: {learning_rate: 0.01, momentum: 0.9}}"),
        "loss": _keras_object("the loss (default: the task's)", "{SparseCategoricalCrossentropy: "
                                                                "{from_logits: true}}"),
        "metrics": {"type": "array", "items": _keras_object("a metric", "accuracy"),
                    "description": "metrics reported per epoch (default: the task's)"},
        "weight_decay": {"type": ["number", "null"], "minimum": 0,
                         "description": "decoupled weight decay, passed to the optimizer"},
        "clipnorm": {"type": ["number", "null"], "exclusiveMinimum": 0,
                     "description": "clip each gradient to this norm"},
        "global_clipnorm": {"type": ["number", "null"], "exclusiveMinimum": 0,
                            "description": "clip all gradients together to this norm"},
        "clipvalue": {"type": ["number", "null"], "exclusiveMinimum": 0,
                      "description": "clip gradient values to [-clipvalue, clipvalue]"},
        "callbacks": {"type": "array", "items": _keras_object("a Keras callback", "{EarlyStopping: {patience: 3}}"),
                      "description": "extra Keras callbacks (EarlyStopping, ReduceLROnPlateau, ...); "
                                     "checkpoints, CSV and TensorBoard logs are always written"},
        "epochs": {"type": "integer", "minimum": 1, "description": "number of epochs (default 10)"},
        "steps_per_epoch": {"type": ["integer", "null"], "minimum": 1,
                            "description": "cap on training steps per epoch (default: one pass over the data)"},
        "seed": {"type": "integer", "minimum": 0,
                 "description": "seeds Python, NumPy, TensorFlow and Keras, the split, the shuffle and "
                                "augmentation (default 0)"},
        "deterministic": {"type": "boolean",
                          "description": "enable TensorFlow op determinism so a seed repeats a run "
                                         "bit for bit (default true)"},
        "monitor": {"type": ["string", "null"],
                    "description": "the metric that picks best.keras (default val_loss, or loss "
                                   "without validation)"},
        "monitor_mode": {"enum": ["auto", "min", "max"],
                         "description": "whether a lower or higher monitored value is better (default auto)"},
        "strategy": {"enum": list(STRATEGIES),
                     "description": "tf.distribute strategy: default (one device), mirrored (all local "
                                    "GPUs) or multi-worker (TF_CONFIG)"},
        "mixed_precision": {"type": "boolean",
                            "description": "mixed_float16 on GPU, mixed_bfloat16 on CPU (default false)"},
        "jit_compile": {"enum": [True, False, "auto"],
                        "description": "XLA-compile the training step (default auto, as Keras)"},
        "steps_per_execution": {"type": "integer", "minimum": 1,
                                "description": "training steps per compiled call (default 1); lowered "
                                               "to a divisor of the steps per epoch"},
    },
}
