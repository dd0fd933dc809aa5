"""What a run draws and writes for people to look at: curves.png, feature maps and filters,
and segmentation masks (a palette PNG whose pixel values stay the class ids)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.errors import UserError
from archspec.train.activation_pictures import DPI, feature_map_figure, filters_figure
from archspec.train.activations import MapLayer, choose_layers, default_layers
from archspec.train.mask_png import class_colour, write_mask
from archspec.train.plots import curves_figure
from train_testkit import dense_map, restore_tf_state, write_png  # noqa: F401

HISTORY = [{"epoch": e, "loss": 1.0 / e, "val_loss": v, "accuracy": 0.5 + 0.1 * e, "val_accuracy": 0.6}
           for e, v in ((1, 0.9), (2, 0.4), (3, 0.7))]


def _texts(figure: Any) -> list[Any]:
    figure.canvas.draw()
    return [t for t in figure.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
            if t.get_text().strip() and t.get_visible()]


def test_curves_have_whole_epochs_and_mark_the_best_one() -> None:
    figure = curves_figure(HISTORY, "tiny", monitor="val_loss", best_epoch=2)
    loss, accuracy = figure.axes
    for axes in (loss, accuracy):
        assert list(axes.get_xticks()) == [1, 2, 3]
    labels = [line.get_label() for line in loss.get_lines()]
    assert "best epoch 2: val_loss 0.4" in labels
    assert [line.get_xdata()[0] for line in accuracy.get_lines() if line.get_label() == "best epoch 2"] == [2]
    one = curves_figure(HISTORY[:1], monitor="val_loss", best_epoch=1)
    assert list(one.axes[0].get_xticks()) == [1]  # not 0.96, 0.98, 1.00 ...


def _layer(name: str, size: int, channels: int = 4, kernel: bool = False) -> MapLayer:
    return MapLayer(name, name.replace("/", "."), (size, size, channels), kernel)


SEGNET_LIKE = [_layer("rescale", 16, 3), _layer("enc1/unit_1/conv", 16, kernel=True),
               _layer("enc1/unit_1/bn", 16), _layer("enc1/unit_1/relu", 16), _layer("enc1/pool", 8),
               _layer("enc2/unit_1/conv", 8, kernel=True), _layer("enc2/unit_1/relu", 8),
               _layer("dec1/up", 16), _layer("dec1/conv", 16, kernel=True), _layer("classifier", 16, 3, True)]


def test_default_feature_maps_are_one_per_resolution() -> None:
    assert [m.name for m in default_layers(SEGNET_LIKE)] == ["enc1/unit_1/relu", "enc2/unit_1/relu", "classifier"]


def test_layers_are_chosen_by_summary_names() -> None:
    names = [m.name for m in SEGNET_LIKE] + ["flatten", "dense"]
    chosen = choose_layers(SEGNET_LIKE, ["conv", "enc1.pool", "enc2/*"], names)
    assert [m.name for m in chosen] == ["enc1/unit_1/conv", "enc2/unit_1/conv", "dec1/conv", "enc1/pool",
                                        "enc2/unit_1/relu"]
    with pytest.raises(UserError, match="layer 'dense' has no feature map"):
        choose_layers(SEGNET_LIKE, ["dense"], names)


def test_feature_maps_are_readable_with_a_scale_and_channel_numbers() -> None:
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(16, 16, 12)).astype(np.float32), rng.uniform(size=(8, 8, 3)).astype(np.float32)]
    layers = [_layer("enc1/unit_1/conv", 16, 12, True), _layer("enc1/pool", 8, 3)]
    figure = feature_map_figure(maps, layers, rng.uniform(size=(1, 16, 16, 1)).astype(np.float32), max_maps=8)
    texts = _texts(figure)
    assert min(t.get_fontsize() for t in texts) * DPI / 72 >= 10  # points at the saved dpi, in pixels
    words = [t.get_text() for t in texts]
    assert [w for w in words if w.isdigit()][:11] == [str(i) for i in range(8)] + ["0", "1", "2"]
    assert any(w.startswith("enc1/unit_1/conv  16x16x12  (channels 0-7 of 12; one scale") for w in words)
    colorbars = [a for a in figure.findobj(lambda a: getattr(a, "get_label", lambda: "")() == "<colorbar>")]
    assert len(colorbars) == 2  # one per layer


def test_filters_are_numbered_on_one_scale() -> None:
    kernel = np.random.default_rng(1).normal(size=(3, 3, 1, 5)).astype(np.float32)
    figure = filters_figure("c1", kernel)
    words = [t.get_text() for t in _texts(figure)]
    assert [w for w in words if w.isdigit()][:5] == ["0", "1", "2", "3", "4"]
    assert "c1: 5 of 5 filters, 3x3x1 (one scale centred on 0)" in words


def test_masks_are_palette_pngs_of_class_ids(tmp_path: Path) -> None:
    from PIL import Image

    mask = np.array([[0, 1], [2, 3]], np.int64)
    with Image.open(write_mask(mask, tmp_path / "m.png")) as image:
        assert image.mode == "P"
        assert np.asarray(image).tolist() == mask.tolist()
        colours = {tuple(image.getpalette()[3 * i:3 * i + 3]) for i in range(4)}
    assert len(colours) == 4 and class_colour(0) == (0, 0, 0)
    with pytest.raises(UserError, match="do not fit a PNG palette"):
        write_mask(np.array([[300]]), tmp_path / "big.png")


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from archspec.train.runner import train_model

    out = tmp_path_factory.mktemp("seg") / "run"
    cfg = {"task": "segmentation", "epochs": 1, "steps_per_epoch": 2, "deterministic": False,
           "data": {"source": {"builtin": "shapes", "samples": 40, "size": 16}, "batch_size": 8}}
    train_model(dense_map((16, 16, 1), 4, "softmax"), cfg, out, verbose=0)
    return out


def test_predict_writes_colour_masks(segmentation_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    from archspec.cli import main

    image = tmp_path / "shape.png"
    write_png(image, np.zeros((16, 16), np.uint8))
    result = CliRunner().invoke(main, ["predict", str(segmentation_run), str(image), "--masks-dir",
                                       str(tmp_path / "masks")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "masks" / "shape.mask.png") as mask:
        assert mask.mode == "P" and mask.size == (16, 16)
        assert set(np.unique(np.asarray(mask))) <= {0, 1, 2, 3}



def test_predict_masks_never_overwrite_each_other(segmentation_run: Path, tmp_path: Path) -> None:
    from archspec.cli import main

    images = [tmp_path / folder / "shape.png" for folder in ("a", "b")]
    for image in images:
        image.parent.mkdir()
        write_png(image, np.zeros((16, 16), np.uint8))
    result = CliRunner().invoke(main, ["predict", str(segmentation_run), *map(str, images), "--masks-dir",
                                       str(tmp_path / "masks")])
    assert result.exit_code == 2 and "would both write their mask to" in result.output
    assert not (tmp_path / "masks").exists()
