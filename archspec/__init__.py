"""archspec: declarative neural network architectures in YAML.

``import archspec`` is light: it never imports TensorFlow or Keras. So that a saved
``.keras`` model containing archspec's own layers loads with ``keras.saving.load_model``,
the layers are registered with Keras as soon as Keras is imported (now, if it already is).
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Optional, Sequence

__version__ = "0.1.0"
_LAYERS = "archspec.keras_backend.custom_layers"


def _register_keras_layers() -> None:
    importlib.import_module(_LAYERS)
    importlib.import_module("archspec.plugins").import_keras_layers()  # the installed plugins' layers too


class _AfterKerasImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Wraps the loader of the ``keras`` package to register our layers once it has loaded."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding us
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return None
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _register_keras_layers()


if "keras" in sys.modules:
    _register_keras_layers()
elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterKerasImport())
