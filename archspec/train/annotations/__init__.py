"""Object data for detection, instance segmentation and pose: COCO JSON, YOLO labels and
``builtin:shapes`` objects, letterboxed to the model's input, augmented with their boxes, masks
and keypoints, batched as padded tensors, and written back as COCO ground truth for pycocotools.
"""
from archspec.train.annotations.records import Category, ImageObjects, ObjectData

__all__ = ["Category", "ImageObjects", "ObjectData"]
