"""Read a Keras model's configuration as data: a ``.keras`` file's ``config.json`` (the zip
read as a zip: no class is ever deserialised, so nothing in the file runs), or the config of a
``keras.applications`` model built with ``weights=None``.

The result is the serialised layout ``keras.saving.serialize_keras_object`` writes: a
``Functional`` or ``Sequential`` whose layers carry ``inbound_nodes`` (the calls), each call's
``args``/``kwargs`` holding tensors as ``{"class_name": "__keras_tensor__", "config":
{"keras_history": [layer, node_index, tensor_index]}}``. ``archspec.importer.graph`` flattens it.
"""
from __future__ import annotations

import json
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from archspec.errors import UserError, did_you_mean

InputShape = Sequence[Optional[int]]  # as summary's --input gives it: no batch axis, None unknown

APPLICATIONS_PREFIX = "applications:"
CONFIG_MEMBER = "config.json"
MAX_CONFIG_BYTES = 64 * 1024 * 1024  # the spec limit: a config that large is not a model to read


def read_source(source: str, input_shape: Optional[InputShape] = None) -> dict[str, Any]:
    """The serialised model named by ``source``: ``applications:NAME`` (built for
    ``input_shape`` when given) or a ``.keras`` file (whose input is its own)."""
    if source.startswith(APPLICATIONS_PREFIX):
        return application_config(source[len(APPLICATIONS_PREFIX):], input_shape)
    if input_shape is not None:
        raise UserError(f"--input is for applications:NAME; {source} is a saved model, with its own input shape",
                        "leave out --input (or edit the imported spec's input:)")
    return keras_file_config(Path(source))


def keras_file_config(path: Path) -> dict[str, Any]:
    """``config.json`` of a ``.keras`` zip, parsed as JSON and nothing more."""
    if not path.is_file():
        raise UserError(f"{path}: no such file", "give a .keras file, or applications:NAME for a Keras Applications "
                        "model (e.g. applications:ResNet50)")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a .keras file (a .keras file is a zip archive with config.json)",
                        "save the model with model.save('model.keras'); .h5 and SavedModel folders are not read")
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(CONFIG_MEMBER)
        except KeyError:
            raise UserError(f"{path} has no {CONFIG_MEMBER}", "save the model with model.save('model.keras')") from None
        if info.file_size > MAX_CONFIG_BYTES:
            raise UserError(f"{path}: {CONFIG_MEMBER} is {info.file_size:,} bytes, more than the "
                            f"{MAX_CONFIG_BYTES:,} archspec reads", "import a smaller model")
        text = archive.read(info)
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: {CONFIG_MEMBER} is not valid JSON ({exc})", "save the model again") from None
    return checked_model(config, str(path))


def application_config(name: str, input_shape: Optional[InputShape] = None) -> dict[str, Any]:
    """``keras.applications.NAME(weights=None)`` (``input_shape=`` when given), serialised as a
    ``.keras`` file would hold it. Its variables are never filled: the config needs none."""
    import keras
    from keras.saving import serialize_keras_object

    names = application_names()
    if name not in names:
        hint = did_you_mean(name, names) or "Keras Applications has: " + ", ".join(names)
        raise UserError(f"no Keras Applications model named '{name}'", hint)
    sized = {} if input_shape is None else {"input_shape": tuple(input_shape)}
    with unfilled_variables():
        try:
            model = getattr(keras.applications, name)(weights=None, **sized)
        except ValueError as exc:  # Keras says which sizes the model takes
            raise UserError(f"Keras cannot build {name} for --input {_shape_text(input_shape)}: {str(exc).rstrip('.')}",
                            "give an input size the model accepts (e.g. 224x224x3)") from None
        return checked_model(serialize_keras_object(model), f"applications:{name}")


@contextmanager
def unfilled_variables() -> Iterator[None]:
    """Keras variables made inside are never filled with values (ConvNeXtXLarge's 350M weights
    would take seconds and gigabytes; shapes and configs need none), and Keras forgets them after,
    rather than filling them all the next time any stateless scope ends."""
    import keras
    from keras.src.backend.common import global_state  # the list of unfilled variables has no public API

    key = "uninitialized_variables"
    before = len(global_state.get_global_attribute(key, [], set_to_default=True))
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        del global_state.get_global_attribute(key, [], set_to_default=True)[before:]


def _shape_text(shape: Optional[InputShape]) -> str:
    """
    >>> _shape_text((96, None, 3))
    '96x?x3'
    """
    return "x".join("?" if s is None else str(s) for s in shape or ())


def application_names() -> list[str]:
    """The model constructors of ``keras.applications`` (ConvNeXtBase ... Xception)."""
    import keras

    return sorted(n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n)))


def checked_model(config: Any, where: str) -> dict[str, Any]:
    """``config`` when it has the form of a serialised Functional or Sequential model."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise UserError(f"{where}: the model config is not a serialised Keras model", "save it with Keras 3")
    if config.get("class_name") not in MODEL_CLASSES or not isinstance(config["config"].get("layers"), list):
        raise UserError(f"{where}: the model is a {config.get('class_name')!r}; archspec imports Functional and "
                        "Sequential models", "a subclassed model has no layer graph to read: rebuild it with the "
                        "functional API")
    return without_object_ids(config)


def without_object_ids(value: Any) -> Any:
    """The config without ``shared_object_id`` (how a saved file marks one Python object used
    twice): two equal initializers compare equal.

    >>> without_object_ids({"a": [{"shared_object_id": 7, "b": 1}]})
    {'a': [{'b': 1}]}
    """
    if isinstance(value, dict):
        return {k: without_object_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [without_object_ids(v) for v in value]
    return value


MODEL_CLASSES = ("Functional", "Sequential", "Model")
