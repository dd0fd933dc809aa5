"""Instance segmentation (``train.task: instance_segmentation``): a mask per detected object.

The design is YOLACT's (Bolya et al. 2019), as Ultralytics' -seg models use it: the detection
head's cells carry M mask coefficients besides the box and class channels, a prototype branch
(``head: prototypes:``) gives M maps at 1/4 of the input, and an object's mask is
sigmoid(prototypes @ coefficients) cropped to its box. ``masks`` holds those TensorFlow ops
and the mask loss, ``rle`` COCO's run-length encoding, ``overlay`` the picture of `archspec
predict`, ``metrics`` the mask mAP of pycocotools' COCOeval (segm).
"""
