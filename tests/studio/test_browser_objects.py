"""The explorer of a detection run in a real headless Chromium: drop a picture that is not the
model's input's shape and see `archspec predict`'s picture of it, the boxes drawn, with the list
of what was found. The run is test_server_objects's tiny detector, its objectness raised so that
it finds boxes (trained once per session, whichever module asks first)."""
from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator

import numpy as np
import pytest

from test_browser import MODEL_S, explorer_page, predictions, settled, wait  # the module skips without chromium
from test_server_objects import CLASSES, detection_run, png, scene

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """The explorer open on the detection run, the blank pad's first prediction shown."""
    yield from explorer_page(detection_run(tmp_path_factory.getbasetemp()))


def test_a_dropped_picture_comes_back_with_its_boxes_drawn_and_listed(explorer: webdriver.Chrome) -> None:
    from PIL import Image

    assert explorer.find_element(By.CSS_SELECTOR, "#draw-pane h2").text == "drop an image, or draw"
    before = predictions(explorer)
    explorer.execute_async_script("""
        const [payload, done] = arguments;
        const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes], 'scene.png', {type: 'image/png'}));
        document.getElementById('pad').dispatchEvent(new DragEvent('drop', {dataTransfer: files, bubbles: true}));
        done();""", base64.b64encode(png(scene())).decode())
    wait(explorer, lambda d: predictions(d) > before and settled(d), MODEL_S, "the dropped image was not predicted")
    assert explorer.find_element(By.ID, "status").text == "ready"
    # the pad holds the image at its own size, shown in its own aspect: predict's input, not a stretched square
    assert explorer.execute_script("const p = document.getElementById('pad'); return [p.width, p.height]") == [96, 64]
    pad = explorer.find_element(By.ID, "pad")
    assert abs(pad.size["width"] / pad.size["height"] - 1.5) < 0.05

    picture = explorer.find_element(By.CSS_SELECTOR, "#prediction img.picture")
    wait(explorer, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", picture))
    assert explorer.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", picture) \
        == [96 * 5, 64 * 5]                                         # the image, enlarged 5 times as predict draws it
    assert picture.get_attribute("data-scale") == "5" and picture.size["width"] > 200
    drawn = np.asarray(Image.open(io.BytesIO(base64.b64decode(picture.get_attribute("src").split(",", 1)[1])))
                       .convert("RGB"))
    changed = (drawn != scene().repeat(5, axis=0).repeat(5, axis=1)).any(-1)
    assert 0.005 < changed.mean() < 0.9                             # the boxes and labels, on the image itself

    rows = explorer.find_elements(By.CSS_SELECTOR, "#prediction table.found tr")
    assert [th.text for th in rows[0].find_elements(By.TAG_NAME, "th")] == ["class", "score", "box x1, y1 – x2, y2"]
    assert len(rows) == 1 + 4                                       # train.detection.max_detections
    for row in rows[1:]:
        name, score, box = (td.text for td in row.find_elements(By.TAG_NAME, "td"))
        x1, y1, x2, y2 = (float(v) for v in box.replace("–", ",").split(","))
        assert name in CLASSES and float(score) >= 0.25
        assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 64            # in the dropped image's pixels
    if os.environ.get("ARCHSPEC_LOOK"):          # a screenshot to look at, where that variable says
        explorer.save_screenshot(os.environ["ARCHSPEC_LOOK"])
