"""Object detection (``train.task: detection``), the YOLOv5 way: anchor matching by width/height
ratio (``assign``), CIoU box loss with BCE objectness and classes (``loss``, ``boxes``), decoding
and per-class NMS in TensorFlow ops (``decode``), the run's session with its COCO mAP callback
(``session``, ``data``), and what predict and evaluate print and draw (``predict``).
"""
