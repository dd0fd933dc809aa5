"""Object data for detection, instance segmentation and pose: COCO JSON, YOLO labels and
``builtin:shapes`` objects, letterboxed to the model's input, augmented with their boxes, masks
and keypoints, batched as padded tensors, and written back as COCO ground truth for pycocotools.

Import the modules themselves (``annotations.load``, ``annotations.records``...): this package
imports nothing, because the spec schema reads ``annotations.source_schema`` and the analysis
commands run without NumPy (the light install has PyYAML, jsonschema and click only).
Building a dataset imports TensorFlow; nothing else here does.
"""
