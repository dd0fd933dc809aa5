"""TensorFlow's start-up noise, hidden unless asked for (``archspec --verbose``, ARCHSPEC_VERBOSE=1).

Importing TensorFlow prints absl's "log messages before absl::InitializeLog()" banner and the
oneDNN, cudart_stub and cpu_feature_guard lines from C++, before any Python code could
configure it, and its first operation logs cuInit failures on machines without a GPU.
``quiet_tensorflow`` installs, once, for the rest of the process:

* ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it): TensorFlow's C++ logging after start-up,
  cuInit included. A real failure still reaches Python as an exception, which the CLI reports;
* the Python loggers of TensorFlow and absl at ERROR, and warnings raised inside TensorFlow and
  Keras ignored;
* an import hook: while ``tensorflow`` or ``keras`` is first imported, file descriptor 2 points
  at a temporary file, and is restored after. If the import fails, what it wrote is replayed to
  stderr, so a broken installation still explains itself.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from types import ModuleType
from typing import Iterator, Optional, Sequence

NOISY_PACKAGES = ("tensorflow", "keras")
_captures = 0  # nesting: keras imports tensorflow while its own import is captured


@contextmanager
def stderr_captured() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; replay it to stderr if the body raises."""
    global _captures
    if _captures:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        _captures += 1
        failed = True
        try:
            yield
            failed = False
        finally:
            _captures -= 1
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                sys.stderr.write(held.read().decode(errors="replace"))


class _QuietLoader(importlib.abc.Loader):
    """Runs a noisy package's ``__init__`` with stderr captured."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader  # the package sees its own loader, as if we were not here
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with stderr_captured():
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds a noisy package with the other finders and wraps its loader."""

    def find_spec(self, name: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if name not in NOISY_PACKAGES:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if finder is not self and find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def quiet_tensorflow() -> None:
    """Hide TensorFlow's start-up noise for the rest of the process (idempotent)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(tensorflow|keras|absl)(\.|$)")
    if not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
