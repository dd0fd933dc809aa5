"""Detection heads in the spec: the ``head:`` section's schema (``schema``), its checks against
the model's shapes (``head``) and its lines in ``summary`` (``summary``). Pure Python; training
lives in ``archspec.train.detection``.
"""
