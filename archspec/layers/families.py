"""Importing this module registers every layer family (one module per family)."""
from archspec.layers import conv, core, fixed, merge, norm, pooling, resize  # noqa: F401
