"""Shared test setup: quiet TensorFlow, and the repository's folders."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# oneDNN's Conv2D filter gradient crashes (SIGSEGV/SIGABRT) on some Xeon CPUs for non-square
# kernels after asymmetric padding (TF 2.20 and 2.21); TensorFlow's own kernels do not.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# The suite checks archspec's own kinds, whatever plugins the machine has installed;
# tests/test_plugins.py installs its plugins into a folder and runs the CLI with this unset.
os.environ.setdefault("ARCHSPEC_NO_PLUGINS", "1")

ROOT = Path(__file__).resolve().parent.parent


def counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls to ``module.name`` for the rest of the test: ``[calls]``, read after the work."""
    calls = [0]
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, counted)
    return calls
