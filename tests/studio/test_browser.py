"""The studio's editor page in a real headless Chromium (Debian's chromium + chromium-driver).

Each test drives `archspec serve` as a user would: keys typed into the editor, clicks on the
table and the picture, Ctrl-S, a reload. Set ARCHSPEC_SCREENSHOTS=1 to also write the README's
picture docs/studio-editor.png.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; "
                ".ci/run installs them)", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: selenium drives the chromium found above)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
LOAD_S = 20.0   # a cold page: the server's first analysis imports the analysis code
EDIT_S = 1.0    # the promise: a typed mistake is underlined within a second


def start_chrome() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,900", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)


def start_server(path: Path) -> tuple[subprocess.Popen, str]:
    """`archspec serve PATH` on a free port; returns the process and the address it printed."""
    process = subprocess.Popen([sys.executable, "-m", "archspec.cli", "serve", str(path), "--port", "0", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=path.parent)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"archspec serve printed {line!r}{process.stdout.read()}")
    return process, line.split()[-1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def chrome() -> Iterator[webdriver.Chrome]:
    driver = start_chrome()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    spec = tmp_path_factory.mktemp("studio") / "lenet5.yaml"
    spec.write_text(LENET)
    process, url = start_server(spec)
    yield spec, url
    stop(process)


def wait(driver: webdriver.Chrome, condition, timeout: float = LOAD_S, message: str = ""):
    """Poll `condition` until it is truthy. The pages redraw by replacing elements (the curves' canvases on every
    poll, the tables on every analysis), so an element found in one poll may be gone when its attribute is read:
    that poll counts as not yet, not as a failure."""
    return WebDriverWait(driver, timeout, poll_frequency=0.02,
                         ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition(d), message)


def analyses(driver: webdriver.Chrome) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-analyses") or 0)


# ------------------------------------------------- the explorer of a run (test_browser_explorer, _objects)
MODEL_S = 180.0   # the first prediction loads TensorFlow, Keras and the model in the server


def explorer_page(run: Path) -> Iterator[webdriver.Chrome]:
    """A module fixture's body (``yield from explorer_page(run)``): the explorer open on the run
    folder, the blank pad's first prediction shown; the browser and the server stopped after."""
    process, url = start_server(run)
    driver = start_chrome()
    try:
        driver.get(url)
        wait(driver, lambda d: predictions(d) >= 1, MODEL_S, "the first prediction never arrived")
        yield driver
    finally:
        driver.quit()
        stop(process)


def predictions(driver: webdriver.Chrome) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-predictions") or 0)


def settled(driver: webdriver.Chrome) -> bool:
    """No prediction in flight or waiting: the page shows the pad as it is now."""
    return driver.execute_script("const s = studio.state; return !s.inFlight && !s.timer && !s.again")


@pytest.fixture
def page(chrome: webdriver.Chrome, served: tuple[Path, str]) -> webdriver.Chrome:
    """The editor on a fresh lenet5.yaml, no drafts, its first analysis shown."""
    spec, url = served
    spec.write_text(LENET)
    chrome.get(url)
    chrome.execute_script("localStorage.clear()")
    chrome.refresh()
    wait(chrome, lambda d: analyses(d) >= 1, message="the first analysis never arrived")
    return chrome


def totals(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "totals").text


def table_names(driver: webdriver.Chrome) -> list[str]:
    return [tr.get_attribute("data-name") for tr in driver.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
            if not tr.get_attribute("class") == "broken"]


def editor_text(driver: webdriver.Chrome) -> str:
    return driver.execute_script("return studio.view.state.doc.toString()")


def cursor_line(driver: webdriver.Chrome) -> int:
    return driver.execute_script("const s = studio.view.state; return s.doc.lineAt(s.selection.main.head).number")


def put_cursor(driver: webdriver.Chrome, line: int, after: str) -> None:
    """The cursor just after the first `after` on a 1-based line, the editor focused."""
    driver.execute_script("""
        const [line, after] = arguments; const v = studio.view; const l = v.state.doc.line(line);
        v.dispatch({selection: {anchor: l.from + l.text.indexOf(after) + after.length}}); v.focus();""", line, after)


def type_keys(driver: webdriver.Chrome, *keys: str) -> int:
    """Send real key events to the focused editor; returns the analysis count before them."""
    before = analyses(driver)
    ActionChains(driver).send_keys(*keys).perform()
    return before


def press_save(driver: webdriver.Chrome) -> None:
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()


def underlined_lines(driver: webdriver.Chrome) -> list[int]:
    return driver.execute_script("""
        return [...document.querySelectorAll('.cm-lintRange-error')].map(
            (el) => studio.view.state.doc.lineAt(studio.view.posAtDOM(el)).number);""")


def test_page_shows_the_specs_totals_and_table(page: webdriver.Chrome) -> None:
    assert "61,706 params" in totals(page) and "416,520 MACs" in totals(page)
    assert table_names(page) == ["c1", "s2", "c3", "s4", "flatten_1", "c5", "f6", "output"]
    assert page.find_elements(By.CSS_SELECTOR, "#graph svg g.node")
    colours = page.execute_script("""return [...document.querySelectorAll('.cm-line span')].map(
        (el) => getComputedStyle(el).color);""")
    assert len(set(colours)) >= 3, f"the YAML is not highlighted: {set(colours)}"  # keys, numbers, comments
    origins = page.execute_script("""return [...new Set(performance.getEntriesByType('resource').map(
        (r) => new URL(r.name).origin))];""")
    assert origins == [page.execute_script("return location.origin")], "everything must come from the server, no CDN"


def test_a_typed_mistake_is_underlined_at_its_line_and_the_fix_updates_table_and_totals(page: webdriver.Chrome) -> None:
    put_cursor(page, 25, "units")                     # line 25: - Dense: {units: 120, activation: tanh}
    type_keys(page, Keys.BACKSPACE)                    # units -> unit: an unknown argument
    wait(page, lambda d: underlined_lines(d) == [25], EDIT_S, "no underline at line 25 within a second")
    errors = page.find_element(By.ID, "errors").text
    assert "unknown argument 'unit'" in errors and "did you mean 'units'?" in errors
    assert table_names(page) == ["c1", "s2", "c3", "s4", "flatten_1"]   # the rows up to the broken layer
    assert "line 25" in page.find_element(By.CSS_SELECTOR, "#summary tr.broken").text
    assert totals(page).startswith("up to the first error: 2,572 params")

    type_keys(page, "s")
    wait(page, lambda d: not underlined_lines(d) and len(table_names(d)) == 8, EDIT_S, "the fix was not analysed")
    assert "61,706 params" in totals(page)
    put_cursor(page, 25, "units: 1")
    type_keys(page, Keys.DELETE, Keys.DELETE, "00")    # 120 -> 100 units: 40,100 + 8,484 for c5 and f6
    wait(page, lambda d: "52,006 params" in totals(d), EDIT_S, "the totals did not change")
    assert page.find_element(By.CSS_SELECTOR, "#summary tr[data-name=c5] td.shape").text == "[100]"
    wait(page, lambda d: "c5: Dense 100 -> [100]" in d.execute_script(   # the picture follows once typing pauses
        "return document.querySelector('#graph:not(.stale) svg')?.textContent || ''"), message="the picture is stale")


def test_rows_and_boxes_jump_to_their_line_and_the_cursor_shows_its_layer(page: webdriver.Chrome) -> None:
    page.find_element(By.CSS_SELECTOR, "#summary tr[data-name=c3]").click()
    assert cursor_line(page) == 18
    assert "current" in page.find_element(By.CSS_SELECTOR, "#summary tr[data-name=c3]").get_attribute("class")
    assert "params = K_h*K_w*C_in*C_out + C_out = 5*5*6*16 + 16 = 2,416" in page.find_element(By.ID, "explain").text
    page.find_element(By.CSS_SELECTOR, "#graph g.node[data-name=f6] rect").click()
    assert cursor_line(page) == 27
    put_cursor(page, 26, "name: ")                     # a key of c5's entry selects c5
    wait(page, lambda d: "current" in d.find_element(By.CSS_SELECTOR, "#summary tr[data-name=c5]").get_attribute("class"))
    assert "= 48,120" in page.find_element(By.ID, "explain").text
    assert "current" in page.find_element(By.CSS_SELECTOR, "#graph g.node[data-name=c5]").get_attribute("class")


def test_hover_on_a_layer_line_shows_its_numbers(page: webdriver.Chrome) -> None:
    line = page.find_elements(By.CSS_SELECTOR, ".cm-content .cm-line")[11]   # line 12: c1
    ActionChains(page).move_to_element(line).perform()
    card = wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, ".hover-card"))[0].text
    assert "c1 (Conv2D)" in card and "[28, 28, 6]" in card and "params: 156" in card
    assert "MACs: 117,600" in card and "receptive field: 5x5" in card
    dx, dy = page.execute_script("""
        const v = studio.view; const line = v.state.doc.line(18); const box = v.contentDOM.getBoundingClientRect();
        const at = v.coordsAtPos(line.from + line.text.indexOf('kernel_size') + 3);
        return [at.left - (box.left + box.width / 2), (at.top + at.bottom) / 2 - (box.top + box.height / 2)];""")
    ActionChains(page).move_to_element_with_offset(page.find_element(By.CSS_SELECTOR, ".cm-content"), int(dx), int(dy)).perform()
    card = wait(page, lambda d: [c.text for c in d.find_elements(By.CSS_SELECTOR, ".hover-card") if "c3" in c.text])[0]
    assert "kernel_size: Size of the convolution window" in card and "params: 2,416" in card   # c3's numbers and the argument's schema text


def test_completion_offers_kinds_and_arguments_from_the_schema(page: webdriver.Chrome) -> None:
    put_cursor(page, 29, "{")                          # - Dense: {units: 10, ...}
    type_keys(page, "use")
    options = wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, ".cm-tooltip-autocomplete li"))
    assert "use_bias" in [o.text for o in options]
    type_keys(page, Keys.ESCAPE, Keys.BACKSPACE * 3, Keys.END, Keys.ENTER, "- Conv")
    options = wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, ".cm-tooltip-autocomplete li"))
    assert {"Conv1D", "Conv2D", "Conv3D"} <= {o.text for o in options}


def test_save_writes_the_file_and_a_disk_change_asks_reload_or_overwrite(page: webdriver.Chrome,
                                                                         served: tuple[Path, str]) -> None:
    spec, _ = served
    put_cursor(page, 3, "lenet5")
    type_keys(page, "b")
    press_save(page)
    wait(page, lambda d: d.find_element(By.ID, "status").text == "saved")
    assert spec.read_text() == editor_text(page) and "name: lenet5b\n" in spec.read_text()

    spec.write_text(LENET.replace("units: 84", "units: 80"))   # another program edits the file
    type_keys(page, "c")
    press_save(page)
    dialog = wait(page, lambda d: d.find_element(By.ID, "conflict").is_displayed() and d.find_element(By.ID, "conflict"))
    assert "units: 80" in dialog.find_element(By.ID, "conflict-disk").text
    dialog.find_element(By.CSS_SELECTOR, "[data-choice=overwrite]").click()
    wait(page, lambda d: d.find_element(By.ID, "status").text == "saved")
    assert "name: lenet5bc\n" in spec.read_text() and "units: 84" in spec.read_text()

    spec.write_text(LENET.replace("units: 84", "units: 80"))
    type_keys(page, "d")
    press_save(page)
    wait(page, lambda d: d.find_element(By.ID, "conflict").is_displayed())
    page.find_element(By.CSS_SELECTOR, "#conflict [data-choice=reload]").click()
    wait(page, lambda d: editor_text(d) == spec.read_text())
    assert "units: 80" in editor_text(page) and "lenet5bcd" not in spec.read_text()

    put_cursor(page, 3, "lenet5")
    type_keys(page, "e")
    page.execute_script("document.activeElement.blur()")   # Ctrl-S saves with the focus outside the editor too
    press_save(page)
    wait(page, lambda d: d.find_element(By.ID, "status").text == "saved")
    assert "name: lenet5e\n" in spec.read_text()


def test_a_reload_keeps_unsaved_text_until_it_is_saved(page: webdriver.Chrome, served: tuple[Path, str]) -> None:
    spec, _ = served
    put_cursor(page, 25, "units: 12")
    type_keys(page, "8")                                # 128 units, not saved
    page.refresh()
    wait(page, lambda d: analyses(d) >= 1)
    assert "units: 1280" in editor_text(page) and spec.read_text() == LENET
    assert "draft restored" in page.find_element(By.ID, "status").text
    if os.environ.get("ARCHSPEC_SCREENSHOTS") == "1":
        screenshot_editor(page)


def screenshot_editor(driver: webdriver.Chrome) -> None:
    """docs/studio-editor.png: a mistake underlined, c3's explain shown, its row highlighted."""
    put_cursor(driver, 25, "units")
    type_keys(driver, Keys.BACKSPACE)
    wait(driver, lambda d: underlined_lines(d) == [25])
    driver.find_element(By.CSS_SELECTOR, "#summary tr[data-name=c3]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#graph:not(.stale) g.node.current"))
    driver.save_screenshot(str(ROOT / "docs" / "studio-editor.png"))


def test_a_folder_lists_its_specs_and_the_zoo(chrome: webdriver.Chrome, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LENET)
    (tmp_path / "b.yaml").write_text(LENET.replace("name: lenet5", "name: other"))
    process, url = start_server(tmp_path)
    try:
        chrome.get(url)
        wait(chrome, lambda d: analyses(d) >= 1)
        files = {a.text: a for a in chrome.find_elements(By.CSS_SELECTOR, "#files a")}
        assert list(files) == ["a.yaml", "b.yaml"]
        files["b.yaml"].click()
        wait(chrome, lambda d: "name: other" in editor_text(d))
        put_cursor(chrome, 3, "other")
        type_keys(chrome, "2")                                   # an unsaved edit of b.yaml
        chrome.find_element(By.CSS_SELECTOR, "#files a[href='#a.yaml']").click()
        wait(chrome, lambda d: "name: lenet5\n" in editor_text(d))
        chrome.find_element(By.CSS_SELECTOR, "#files a[href='#b.yaml']").click()
        wait(chrome, lambda d: "name: other2\n" in editor_text(d))   # each file keeps its own draft
        assert "name: other\n" in (tmp_path / "b.yaml").read_text()
        zoo = {a.text: a for a in chrome.find_elements(By.CSS_SELECTOR, "#zoo a")}
        assert {"lenet5", "resnet50", "vgg16"} <= set(zoo)
        count = analyses(chrome)
        zoo["resnet18"].click()
        wait(chrome, lambda d: analyses(d) > count and "11,699,112 params" in totals(d))
        assert chrome.find_element(By.ID, "save").get_attribute("disabled")
    finally:
        stop(process)
