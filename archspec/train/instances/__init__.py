"""Instance segmentation (``train.task: instance_segmentation``): a mask per detected object.

The design is YOLACT's (Bolya et al. 2019), as Ultralytics' -seg models use it: the detection
head's cells carry M mask coefficients after the box, objectness and class channels, a
prototype branch (``head: prototypes:``) gives M maps at 1/4 of the input, and an object's
mask is sigmoid(prototypes @ coefficients) cropped to its box. Detection's assignment, loss,
decoding and NMS (``archspec.train.detection``) are used as they are; this package adds:

- ``masks``: the mask ops in TensorFlow (assembly, crop, targets, upsampling);
- ``loss``: the mask loss over the assignment's matches; ``training``: how it joins the step;
- ``predict``: detections with masks, and `archspec predict`'s files; ``overlay``: its picture;
- ``rle``: COCO run-length encoding; ``metrics`` and ``evaluation``: box and mask mAP by
  pycocotools' COCOeval, per epoch (``val_mask_map``, ``val_mask_map50``) and in `evaluate`.
"""
