"""Pose metrics and pictures for the heatmap keypoints task (one heatmap channel per keypoint).

``decode``: sub-pixel peaks of heatmaps; ``targets``: ground-truth keypoints read back from
target heatmaps; ``metrics``: PCK and COCO keypoint AP by OKS (pycocotools); ``settings``: the
spec's ``train.keypoints``; ``callback``: the per-epoch ``val_pck``/``val_oks_ap`` metrics;
``picture``: keypoints and skeleton drawn on an image. Pure NumPy except ``callback``.
"""
