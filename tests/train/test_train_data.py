"""Sources, checks and the tf.data pipeline: order, splits, augmentation, bad data."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archspec.errors import SpecErrors, UserError
from archspec.train.config import resolve_config
from archspec.train.datasets import ModelIO, build_data
from train_testkit import restore_tf_state, write_png  # noqa: F401

NO_LOC = lambda path: None  # noqa: E731


def _bundle(source: dict, io: ModelIO, **data: Any) -> Any:
    top = data.pop("top", {})
    cfg = resolve_config({"data": {"source": source, **data}, **top})
    return build_data(cfg, io, NO_LOC)


def _ids_npz(tmp_path: Path, n: int = 50) -> dict:
    """Images whose every pixel is the sample's index, so batches reveal the order."""
    x = np.repeat(np.arange(n, dtype=np.float32), 16).reshape(n, 4, 4, 1)
    np.savez(tmp_path / "ids.npz", x=x, y=np.arange(n) % 3)
    return {"npz": str(tmp_path / "ids.npz")}


def _epochs(dataset: Any, steps: int) -> list[list[int]]:
    ids = [int(v) for x, _ in dataset for v in x.numpy()[:, 0, 0, 0]]
    per = len(ids) // steps
    return [ids[i * per:(i + 1) * per] for i in range(steps)]


def test_each_epoch_is_a_permutation_fixed_by_seed_and_epoch(tmp_path: Path) -> None:
    bundle = _bundle(_ids_npz(tmp_path), ModelIO((4, 4, 1), (3,)), batch_size=8)
    train = bundle.train
    steps = train.batches_per_epoch()
    whole = [int(v) for x, _ in train.train(0, 3, steps) for v in x.numpy()[:, 0, 0, 0]]
    epochs = [whole[i * train.size:(i + 1) * train.size] for i in range(3)]
    for order in epochs:
        assert sorted(order) == sorted(train.indices.tolist())
    assert epochs[0] != epochs[1] != epochs[2]
    resumed = [int(v) for x, _ in train.train(2, 3, steps) for v in x.numpy()[:, 0, 0, 0]]
    assert resumed == epochs[2]
    validation = [int(v) for x, _ in bundle.validation.evaluate() for v in x.numpy()[:, 0, 0, 0]]
    assert len(validation) == 10 and not set(validation) & set(whole)


def test_augmentation_is_a_function_of_seed_epoch_and_batch_and_off_for_evaluation() -> None:
    augment = [{"RandomRotation": {"factor": 0.2}}, {"RandomFlip": {}}, {"RandomContrast": {"factor": 0.3}}]
    bundle = _bundle({"builtin": "digits"}, ModelIO((8, 8, 1), (10,)), batch_size=64, augment=augment)
    first = [x.numpy() for x, _ in bundle.train.train(0, 2, 3)]
    again = [x.numpy() for x, _ in bundle.train.train(0, 2, 3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    plain = _bundle({"builtin": "digits"}, ModelIO((8, 8, 1), (10,)), batch_size=64)
    raw = [x.numpy() for x, _ in plain.train.train(0, 1, 3)]
    assert not np.allclose(first[0], raw[0])  # augmented
    assert np.array_equal(next(iter(bundle.validation.evaluate()))[0].numpy(),
                          next(iter(plain.validation.evaluate()))[0].numpy())  # evaluation untouched


def test_digits_are_resized_to_the_model_and_gray_becomes_rgb() -> None:
    bundle = _bundle({"builtin": "digits"}, ModelIO((32, 32, 3), (10,)), batch_size=16)
    x, y = next(iter(bundle.train.train(0, 1, 1)))
    assert x.shape == (16, 32, 32, 3) and y.dtype.name == "int32"
    assert np.allclose(x[..., 0], x[..., 2]) and 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    assert bundle.summary["samples"] == {"train": 1438, "validation": 359}
    assert bundle.summary["image_size"] == [32, 32]
    assert bundle.summary["data_image_sizes"] == [[8, 8]] and bundle.summary["resized"] is True


def test_data_of_the_model_size_is_not_resized(tmp_path: Path) -> None:
    bundle = _bundle({"builtin": "shapes", "samples": 20, "size": 16}, ModelIO((16, 16, 1), (3,)), batch_size=4)
    assert bundle.summary["resize"] is True and bundle.summary["resized"] is False
    root = _image_folder(tmp_path / "photos", size=8)
    bundle = _bundle({"images": str(root)}, ModelIO((8, 8, 3), (2,)), batch_size=4, resize=True)
    assert bundle.summary["data_image_sizes"] == [[8, 8]] and bundle.summary["resized"] is False


@pytest.mark.parametrize("task, output, message", [
    ("classification", (10,), "builtin:shapes has 3 classes (circle, square, triangle) but the model's output "
                              "has 10 units; give the last layer 3 units"),
    ("multilabel", (5,), "builtin:shapes has 3 labels (circle, square, triangle) but the model's output has 5 units"),
    ("segmentation", (16, 16, 3), "builtin:shapes has 4 mask classes (background, circle, square, triangle) but the "
                                  "model's output has 3 channels; give the last layer 4 filters"),
    ("keypoints", (16, 16, 2), "keypoint targets have shape (16, 16, 3) per sample but the model outputs 2 heatmap"),
])
def test_class_counts_are_checked_against_the_output(task: str, output: tuple, message: str) -> None:
    with pytest.raises(UserError) as caught:
        _bundle({"builtin": "shapes", "samples": 20, "size": 16}, ModelIO((16, 16, 1), output), top={"task": task})
    assert message in caught.value.format()


def test_unnamed_labels_that_leave_outputs_unused_are_a_warning(tmp_path: Path, caplog: Any) -> None:
    with caplog.at_level("WARNING", logger="archspec.train"):
        _bundle(_ids_npz(tmp_path), ModelIO((4, 4, 1), (10,)))
    assert "go up to 2 (3 classes) but the model has 10 outputs; outputs 3..9 are never trained" in caplog.text


def test_shape_mismatch_without_resize_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"are 4x4 but the model takes 8x8.*resize: true"):
        _bundle(_ids_npz(tmp_path), ModelIO((8, 8, 1), (3,)))
    with pytest.raises(UserError, match="have 1 channel.*takes 3"):
        _bundle(_ids_npz(tmp_path), ModelIO((4, 4, 3), (3,)))


def test_labels_out_of_range_name_the_sample(tmp_path: Path) -> None:
    x = np.zeros((6, 4, 4), np.uint8)
    np.savez(tmp_path / "bad.npz", x=x, y=np.array([0, 1, 2, 7, 1, 0]))
    with pytest.raises(UserError, match=r"label 7 of npz:.*bad.npz sample 3 is out of range: the model has 3 classes"):
        _bundle({"npz": str(tmp_path / "bad.npz")}, ModelIO((4, 4, 1), (3,)))


def test_npz_problems_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        _bundle({"npz": str(tmp_path / "none.npz")}, ModelIO((4, 4, 1), (3,)))
    np.savez(tmp_path / "keys.npz", images=np.zeros((3, 4, 4)), y=np.zeros(3))
    with pytest.raises(UserError, match="has no array named 'x' \\(it has: images, y\\)"):
        _bundle({"npz": str(tmp_path / "keys.npz")}, ModelIO((4, 4, 1), (3,)))
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="cannot read .*cut.npz"):
        _bundle({"npz": str(tmp_path / "cut.npz")}, ModelIO((4, 4, 1), (3,)))


def test_one_hot_labels_and_uint8_images_are_accepted(tmp_path: Path) -> None:
    x = np.full((5, 4, 4, 1), 255, np.uint8)
    np.savez(tmp_path / "oh.npz", x=x, y=np.eye(3)[[0, 1, 2, 1, 0]])
    bundle = _bundle({"npz": str(tmp_path / "oh.npz")}, ModelIO((4, 4, 1), (3,)), validation_split=0.0)
    xb, yb = next(iter(bundle.train.evaluate()))
    assert float(np.max(xb)) == 1.0 and yb.numpy().tolist() == [0, 1, 2, 1, 0]
    assert bundle.validation is None


def _image_folder(root: Path, classes: int = 2, per_class: int = 4, size: int = 10) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            write_png(root / f"class{c}" / f"{i}.png", rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    return root


@pytest.mark.parametrize("cache", [True, False, "file"])
def test_image_folders_load_resized(tmp_path: Path, cache: Any) -> None:
    root = _image_folder(tmp_path / "photos")
    cache = str(tmp_path / "cache") if cache == "file" else cache
    bundle = _bundle({"images": str(root)}, ModelIO((8, 8, 1), (2,)), batch_size=3, resize=True, cache=cache)
    batches = list(bundle.train.train(0, 2, bundle.train.batches_per_epoch()))
    assert sum(len(x) for x, _ in batches) == 2 * bundle.train.size == 12
    assert sum(len(x) for x, _ in bundle.validation.evaluate()) == 2
    assert batches[0][0].shape[1:] == (8, 8, 1)
    assert bundle.summary["class_names"] == ["class0", "class1"]


def test_bad_image_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="the image folder .*nowhere does not exist"):
        _bundle({"images": str(tmp_path / "nowhere")}, ModelIO((8, 8, 3), (2,)))
    root = _image_folder(tmp_path / "photos", classes=3)
    with pytest.raises(UserError, match=r"photos has 3 classes \(class0, class1, class2\) but the model's output has 2"):
        _bundle({"images": str(root)}, ModelIO((8, 8, 3), (2,)), resize=True)
    (root / "class1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(UserError, match=r"class1/broken.png: not a readable image"):
        _bundle({"images": str(root)}, ModelIO((8, 8, 3), (3,)), resize=True)


def test_truncated_image_is_named_when_decoding(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "photos")
    png = root / "class0" / "2.png"
    png.write_bytes(png.read_bytes()[:-40])  # header intact, pixels cut short
    with pytest.raises(UserError, match=r"class0/2.png: cannot decode the image"):
        _bundle({"images": str(root)}, ModelIO((8, 8, 3), (2,)), resize=True)


def _write_records(path: Path, labels: list[int]) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, label in enumerate(labels):
            png = tf.io.encode_png(tf.fill([6, 6, 1], tf.constant(i * 10, tf.uint8))).numpy()
            features = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png])),
                        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())


def _record_source(tmp_path: Path) -> dict:
    return {"tfrecord": str(tmp_path / "*.tfrecord"),
            "features": {"image": {"dtype": "string", "decode": "png"}, "label": {"dtype": "int64"}}}


def test_tfrecords_stream_with_a_seeded_shuffle(tmp_path: Path) -> None:
    _write_records(tmp_path / "a.tfrecord", [i % 3 for i in range(20)])
    bundle = _bundle(_record_source(tmp_path), ModelIO((6, 6, 1), (3,)), batch_size=4, resize=False)
    assert (bundle.train.size, bundle.validation.size) == (16, 4)  # 20 records, 4 held out
    first = [x.numpy() for x, _ in bundle.train.train(0, 2, 4)]
    again = [x.numpy() for x, _ in bundle.train.train(1, 2, 4)]
    assert all(np.array_equal(a, b) for a, b in zip(first[4:], again))
    assert not all(np.array_equal(a, b) for a, b in zip(first[:4], first[4:]))  # epochs differ
    assert sum(len(x) for x, _ in bundle.validation.evaluate()) == 4


def test_tfrecord_label_out_of_range_stops_with_a_user_error(tmp_path: Path) -> None:
    from archspec.train.failures import translate_error

    _write_records(tmp_path / "a.tfrecord", [0, 1, 5, 1])
    bundle = _bundle(_record_source(tmp_path), ModelIO((6, 6, 1), (3,)), batch_size=2, resize=False,
                     validation_split=0.0)
    with pytest.raises(Exception) as caught:
        list(bundle.train.train(0, 1, 2))
    error = translate_error(caught.value, bundle)
    assert isinstance(error, UserError) and "label out of range" in error.message


def test_augment_entries_are_checked_with_positions() -> None:
    with pytest.raises(SpecErrors, match="'RandomFlop' is not a Keras preprocessing layer; did you mean 'RandomFlip'"):
        _bundle({"builtin": "digits"}, ModelIO((8, 8, 1), (10,)), augment=["RandomFlop"])
    with pytest.raises(SpecErrors, match="RandomCrop does not move segmentation targets"):
        _bundle({"builtin": "shapes", "samples": 20}, ModelIO((32, 32, 1), (32, 32, 4)),
                augment=[{"RandomCrop": {"height": 16, "width": 16}}], top={"task": "segmentation"})
