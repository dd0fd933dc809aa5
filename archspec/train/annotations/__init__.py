"""Object data for detection, instance segmentation and pose: COCO JSON, YOLO labels and
``builtin:shapes`` objects, letterboxed to the model's input, augmented with their boxes, masks
and keypoints, batched as padded tensors, and written back as COCO ground truth for pycocotools.

Importing this package does not import TensorFlow (only building a dataset does).
"""
from archspec.train.annotations.letterbox import Letterbox, letterbox
from archspec.train.annotations.load import OBJECT_TASKS, load_objects
from archspec.train.annotations.records import Category, ImageObjects, ObjectData

__all__ = ["Category", "ImageObjects", "Letterbox", "OBJECT_TASKS", "ObjectData", "letterbox", "load_objects"]
