"""The studio's explorer in a real headless Chromium: open a LeNet-5 run, draw a digit, see a
prediction and the feature maps of its convolutions, hover a map, see the training curves.

The run is LeNet-5 on builtin:digits for a few steps (ARCHSPEC_SCREENSHOTS=1 trains it for
real, 8 epochs, and writes the README's picture docs/studio-explorer.png).
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_browser import MODEL_S, ROOT, explorer_page, predictions, settled, wait  # the module skips without chromium

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SCREENSHOTS = os.environ.get("ARCHSPEC_SCREENSHOTS") == "1"
SEVEN = [(-80, -90), (0, -90), (80, -90), (50, -30), (20, 30), (-5, 100)]   # a 7, in pixels from the pad's centre


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studio") / "lenet"
    length = ["--epochs", "8"] if SCREENSHOTS else ["--epochs", "2", "--steps-per-epoch", "3"]
    result = subprocess.run([sys.executable, "-m", "archspec.cli", "train", str(ROOT / "specs" / "lenet5.yaml"),
                             "--data", "builtin:digits", *length, "--set", "train.data.batch_size=16", "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def explorer(lenet_run: Path) -> Iterator[webdriver.Chrome]:
    """The explorer open on the run, the blank pad's first prediction shown."""
    yield from explorer_page(lenet_run)


def draw(driver: webdriver.Chrome, points: list[tuple[int, int]]) -> None:
    pad = driver.find_element(By.ID, "pad")
    actions = ActionChains(driver).move_to_element_with_offset(pad, *points[0]).click_and_hold()
    for point in points[1:]:
        actions.move_to_element_with_offset(pad, *point)
    actions.release().perform()


def ink(driver: webdriver.Chrome) -> int:
    """How many of the pad's pixels are drawn on (white ink on black)."""
    return driver.execute_script("""
        const pad = document.getElementById('pad');
        const data = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
        let n = 0; for (let i = 0; i < data.length; i += 4) if (data[i] > 128) n++; return n;""")


def test_drawing_a_digit_updates_the_prediction_and_the_feature_maps(explorer: webdriver.Chrome) -> None:
    before = predictions(explorer)
    blank_maps = [img.get_attribute("src") for img in explorer.find_elements(By.CSS_SELECTOR, "#maps img")]
    draw(explorer, SEVEN)
    assert ink(explorer) > 2000
    wait(explorer, lambda d: predictions(d) > before, MODEL_S, "drawing sent no prediction")
    wait(explorer, settled, MODEL_S, "the predictions never settled")
    assert explorer.find_element(By.ID, "status").text == "ready"
    bars = explorer.find_elements(By.CSS_SELECTOR, "#prediction .bar")
    assert len(bars) == 5
    labels = [bar.find_element(By.CSS_SELECTOR, ".label").text.strip() for bar in bars]
    assert set(labels) <= set("0123456789") and len(set(labels)) == 5
    shown = [float(bar.text.split()[-1].rstrip("%")) for bar in bars]
    assert shown == sorted(shown, reverse=True) and 0 < sum(shown) <= 100.05

    maps = explorer.find_elements(By.CSS_SELECTOR, "#maps img")
    assert [m.get_attribute("data-layer") for m in maps] == ["c1", "c3"]        # LeNet-5's two convolutions
    assert [m.get_attribute("src") for m in maps] != blank_maps                  # the maps follow the drawing
    assert all(explorer.execute_script("return arguments[0].naturalWidth", m) > 0 for m in maps)
    stages = [h.text for h in explorer.find_elements(By.CSS_SELECTOR, "#maps .stage h3")]
    assert stages == ["28x28 maps", "10x10 maps"]
    assert explorer.execute_script("return document.getElementById('filters').naturalWidth") > 0
    if SCREENSHOTS:
        explorer.save_screenshot(str(ROOT / "docs" / "studio-explorer.png"))


def test_a_dropped_image_is_drawn_on_the_pad_and_predicted(explorer: webdriver.Chrome) -> None:
    before = predictions(explorer)
    explorer.execute_async_script("""
        const done = arguments[0];
        const picture = Object.assign(document.createElement('canvas'), {width: 64, height: 64});
        const ctx = picture.getContext('2d');
        ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 64, 64); ctx.fillStyle = '#fff'; ctx.fillRect(28, 8, 8, 48);  // a 1
        picture.toBlob((blob) => {
          const files = new DataTransfer();
          files.items.add(new File([blob], 'one.png', {type: 'image/png'}));
          document.getElementById('pad').dispatchEvent(new DragEvent('drop', {dataTransfer: files, bubbles: true}));
          done();
        }, 'image/png');""")
    wait(explorer, lambda d: predictions(d) > before and settled(d), MODEL_S, "the dropped image was not predicted")
    # the pad takes the image's own size (what `archspec predict` would read of the file): only the dropped 1
    assert explorer.execute_script("const p = document.getElementById('pad'); return [p.width, p.height]") == [64, 64]
    assert ink(explorer) == 8 * 48
    assert len(explorer.find_elements(By.CSS_SELECTOR, "#prediction .bar")) == 5
    cleared = predictions(explorer)
    explorer.find_element(By.ID, "clear").click()          # back to the blank 280x280 pad to draw on
    assert explorer.execute_script("const p = document.getElementById('pad'); return [p.width, p.height]") == [280, 280]
    assert ink(explorer) == 0
    wait(explorer, lambda d: predictions(d) > cleared and settled(d), MODEL_S, "the cleared pad was not predicted")


def test_hovering_a_map_names_its_channel_range_and_receptive_field(explorer: webdriver.Chrome) -> None:
    c1 = explorer.find_element(By.CSS_SELECTOR, "#maps img[data-layer=c1]")
    width = c1.size["width"]
    ActionChains(explorer).move_to_element_with_offset(c1, -width // 2 + 3, -c1.size["height"] // 2 + 3).perform()
    info = explorer.find_element(By.ID, "map-info").text
    assert info.startswith("c1 channel 1 of 6") and "receptive field 5 px" in info
    ActionChains(explorer).move_to_element_with_offset(c1, width // 2 - 3, -c1.size["height"] // 2 + 3).perform()
    assert explorer.find_element(By.ID, "map-info").text.startswith("c1 channel 3 of 6")   # 3 columns of tiles


def test_the_runs_curves_are_drawn_from_its_history_and_follow_it(explorer: webdriver.Chrome, lenet_run: Path) -> None:
    charts = wait(explorer, lambda d: d.find_elements(By.CSS_SELECTOR, "#curves canvas"))
    assert [c.get_attribute("data-metric") for c in charts] == ["accuracy", "loss"]
    epochs = int(charts[0].get_attribute("data-epochs"))
    history = lenet_run / "history.csv"
    text = history.read_text()
    last = text.strip().splitlines()[-1].split(",")
    with history.open("a") as f:                      # as a training run in progress appends an epoch
        f.write(("" if text.endswith("\n") else "\n") + ",".join([str(int(last[0]) + 1), *last[1:]]) + "\n")
    wait(explorer, lambda d: d.find_element(By.CSS_SELECTOR, "#curves canvas").get_attribute("data-epochs")
         == str(epochs + 1), 60, "the curves did not follow history.csv")  # generous: the page polls every 3 s,
    # and on a busy 2-core machine its request can queue behind the earlier tests' predictions
