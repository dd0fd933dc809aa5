"""Analysis passes run after shapes: each adds its results to ``Analysis.extra``."""
from __future__ import annotations

from archspec.analysis.shapes import Analysis

COLUMNS: tuple = ()


def run_passes(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> Analysis:
    return analysis
