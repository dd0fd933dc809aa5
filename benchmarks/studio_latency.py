"""The studio's keystroke-to-updated-table latency in a real browser, for specs/resnet50.yaml.

    python benchmarks/studio_latency.py [--edits 60] [--pause 0.25] [--spec specs/resnet50.yaml] [--at "filters: 64"]

`archspec serve` runs on a copy of the spec and headless Chromium (Debian's chromium and
chromium-driver, through Selenium) opens it. Each edit is one real key event sent to the
editor, alternately Backspace and the deleted character again just after the first `--at`
text (the stem's `filters: 64` <-> `filters: 6`: every shape after the stem changes and no
answer can be reused). The page's own clock measures
from the keydown event to the first animation frame after the new table is in the page (the
frame that paints it): the page's scheduling, the request, the server's analysis, the JSON,
and the table's rendering. Edits are `--pause` seconds apart, longer than the page's 150 ms
debounce, as a user who types a number and looks. Printed: p50, p95 and max over `--edits`
edits, and the server's own `elapsed_ms` for the same requests. Target: p95 under 100 ms.
The server-side time per request alone is `studio_server.py`.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent

# Installed in the page: the time of each keydown, and for each analysis shown, the time from
# the last keydown to the next animation frame, split by the request's resource timing into
# keydown -> request sent, request -> last byte of the answer, answer -> frame; and the
# server's own elapsed_ms.
PROBE = """
window.__bench = {t0: null, samples: []};
document.addEventListener("keydown", () => { window.__bench.t0 = performance.now(); }, true);
document.addEventListener("studio:analysed", (event) => {
  const t0 = window.__bench.t0;
  if (t0 === null) return;
  window.__bench.t0 = null;
  requestAnimationFrame(() => {
    const now = performance.now();
    const request = performance.getEntriesByType("resource").filter(
      (r) => r.name.endsWith("/api/analyse") && r.startTime >= t0).pop();
    const split = request ? [request.startTime - t0, request.responseEnd - request.startTime, now - request.responseEnd]
                          : [null, null, null];
    window.__bench.samples.push([now - t0, event.detail.serverMs, ...split]);
  });
});
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(spec: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "archspec.cli", "serve", str(spec), "--port", "0", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        sys.exit(f"archspec serve did not start: {line}{process.stdout.read()}")
    return process, line.split()[-1]


def start_chrome() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")), options=options)


def measure(driver: webdriver.Chrome, at: str, edits: int, pause: float) -> list[tuple[float, float]]:
    driver.execute_script(PROBE)
    driver.execute_script("""
        const v = studio.view; const text = v.state.doc.toString(); const at = text.indexOf(arguments[0]);
        v.dispatch({selection: {anchor: at + arguments[0].length}}); v.focus();""", at)
    for i in range(edits):
        ActionChains(driver).send_keys(Keys.BACKSPACE if i % 2 == 0 else at[-1]).perform()
        WebDriverWait(driver, 30, poll_frequency=0.01).until(
            lambda d: d.execute_script("return window.__bench.samples.length") > i)
        time.sleep(pause)
    return driver.execute_script("return window.__bench.samples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between edits")
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "resnet50.yaml")
    parser.add_argument("--at", default="filters: 64", help="the edits delete and retype this text's last character")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / args.spec.name
        spec.write_text(args.spec.read_text())
        process, url = start_server(spec)
        driver = start_chrome()
        try:
            driver.get(url)
            WebDriverWait(driver, 60).until(lambda d: d.find_element("tag name", "body").get_attribute("data-analyses"))
            samples = measure(driver, args.at, args.edits, args.pause)
        finally:
            driver.quit()
            process.terminate()
            process.wait(timeout=10)
    print(f"{args.spec.name}: {len(samples)} edits after {args.at!r}, {args.pause:g} s apart")
    parts = ["keystroke -> updated table (browser)", "  the server's analysis (elapsed_ms)",
             "  keydown -> request sent", "  request -> whole answer received", "  answer -> table painted"]
    for i, label in enumerate(parts):
        values = [s[i] for s in samples if s[i] is not None]
        if values:
            print(f"{label}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
                  f"max {max(values):.1f} ms")


if __name__ == "__main__":
    main()
