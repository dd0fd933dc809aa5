"""Augmentation: Keras preprocessing layers run inside the tf.data map, with stateless seeds.

A random Keras layer draws its seeds from a ``SeedGenerator`` whose state variable advances
on every call. Inside a parallel tf.data map that makes the result depend on thread timing,
and after a restart the state is wherever prefetching left it. So each layer's generator is
replaced by :class:`KeyedSeed`, whose draws are a pure function of a per-batch key
(seed, epoch, batch index): augmentation is reproducible, parallel-safe and resumes exactly.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from archspec.errors import Location, SpecError, SpecErrors, did_you_mean

Locator = Callable[[tuple], "Location | None"]

# Layers that move segmentation masks and heatmaps with the image, and layers that only
# change pixel values (the masks stay as they are). Other layers are refused for those tasks.
GEOMETRIC = {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomShear"}
PHOTOMETRIC = {"RandomBrightness", "RandomContrast", "RandomColorDegeneration", "RandomColorJitter",
               "RandomHue", "RandomSaturation", "RandomSharpness", "RandomGaussianBlur", "RandomInvert",
               "RandomPosterization", "RandomErasing", "Rescaling", "Normalization"}
_MANAGED_NAMES = ("Resizing",)


def parse_entry(entry: Any) -> tuple[str, dict[str, Any]]:
    """``RandomFlip`` or ``{RandomFlip: {mode: horizontal}}`` -> (name, arguments)."""
    if isinstance(entry, str):
        return entry, {}
    (name, args), = entry.items()
    return str(name), dict(args or {})


def _new_keyed_seed() -> Any:
    import keras
    from keras.src.random.seed_generator import SeedGenerator

    class KeyedSeed(SeedGenerator):
        """A SeedGenerator without state: draw n under key k is fold_in(k, n)."""

        def __init__(self) -> None:  # no variable: nothing to save, nothing to race on
            self.name = "keyed_seed"
            self.backend = keras.src.backend
            self._initial_seed = 0
            self.key: Any = None
            self.draws = 0

        def next(self, ordered: bool = True) -> Any:
            import tensorflow as tf

            self.draws += 1
            return tf.random.experimental.stateless_fold_in(self.key, self.draws)

    return KeyedSeed()


class Augmenter:
    """The ``augment:`` list as Keras layers; ``__call__`` maps a batch (x, y)."""

    def __init__(self, entries: Sequence[Any], task: str, locate: Locator) -> None:
        import keras
        from keras.src.random.seed_generator import SeedGenerator

        self.task = task
        self.layers: list[Any] = []
        self.seeds: list[Any] = []
        self.names: list[str] = []
        errors = []
        for i, entry in enumerate(entries):
            name, args = parse_entry(entry)
            where = locate(("train", "data", "augment", i))
            try:
                layer = self._make(keras, name, args, task)
            except SpecError as exc:
                errors.append(SpecError(exc.message, exc.hint, where))
                continue
            seed = _new_keyed_seed()
            for attr, value in list(vars(layer).items()):
                if isinstance(value, SeedGenerator):
                    object.__setattr__(layer, attr, seed)  # bypass Keras's tracking on purpose
            object.__setattr__(layer, "_backend_generators", {"tensorflow": seed})
            self.layers.append(layer)
            self.seeds.append(seed)
            self.names.append(name)
        if errors:
            raise SpecErrors(errors)

    @staticmethod
    def _make(keras: Any, name: str, args: dict[str, Any], task: str) -> Any:
        cls = getattr(keras.layers, name, None)
        if cls is None or not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
            choices = [n for n in dir(keras.layers) if n.startswith("Random")] + list(PHOTOMETRIC)
            raise SpecError(f"augment: {name!r} is not a Keras preprocessing layer",
                            did_you_mean(name, choices) or "use e.g. RandomFlip, RandomRotation, RandomZoom")
        if name in _MANAGED_NAMES:
            raise SpecError(f"augment: {name} is not needed", "resizing is train.data.resize")
        if task in ("segmentation", "keypoints") and name not in GEOMETRIC | PHOTOMETRIC:
            raise SpecError(f"augment: {name} does not move {task} targets with the image",
                            f"use {', '.join(sorted(GEOMETRIC))} or pixel-value layers for {task}")
        args.setdefault("dtype", "float32")  # the input pipeline stays float32 under mixed precision
        try:
            return cls(**args)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"augment: {name}: {exc}", f"see keras.layers.{name} for its arguments") from None

    def __bool__(self) -> bool:
        return bool(self.layers)

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Image size after training-time augmentation (a RandomCrop changes it)."""
        shape = (None, size[0], size[1], 1)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return int(shape[1]), int(shape[2])

    @property
    def crops(self) -> bool:
        return any(n == "RandomCrop" for n in self.names)

    def __call__(self, x: Any, y: Any, key: Any, training: bool = True) -> tuple[Any, Any]:
        """Augment a batch under ``key`` (int64 [2]); evaluation only centre-crops."""
        import tensorflow as tf

        if not training:
            return self._eval(x), y
        masks = self.task in ("segmentation", "keypoints")
        for i, (layer, seed) in enumerate(zip(self.layers, self.seeds)):
            seed.key, seed.draws = tf.random.experimental.stateless_fold_in(key, i), 0
            if masks and self.names[i] in GEOMETRIC:
                x, y = _with_masks(layer, x, y, self.task)
            else:
                x = layer(x, training=True)
        return x, y

    def _eval(self, x: Any) -> Any:
        import keras

        if not self.crops:
            return x
        height, width = self.output_size((int(x.shape[1]), int(x.shape[2])))
        return keras.layers.CenterCrop(height, width)(x)


def _with_masks(layer: Any, x: Any, y: Any, task: str) -> tuple[Any, Any]:
    import tensorflow as tf

    target = tf.cast(y[..., None] if task == "segmentation" else y, x.dtype)
    out = layer({"images": x, "segmentation_masks": target}, training=True)
    moved = out["segmentation_masks"]
    if task == "segmentation":
        moved = tf.cast(tf.round(moved[..., 0]), y.dtype)
    return out["images"], moved
