"""Plugins: kinds from the entry-point group archspec.layers, loaded once, broken ones skipped by name.

The loader is tested in this process with entry points made here; the example plugin
(examples/plugin) and a broken plugin are tested installed, with pip into a folder and the
CLI run in a subprocess with that folder on PYTHONPATH (conftest turns plugins off for the
rest of the suite, which checks archspec's own kinds).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Iterator

import pytest

from archspec import plugin_api as api
from archspec import plugins
from archspec.layers import registry
from conftest import ROOT

# ---------------------------------------------------------------- the loader, in this process


def _kind(name: str, example: bool = True, shape=None) -> api.LayerKind:
    """A pointwise kind without weights, in the built-in family 'core'."""
    return api.LayerKind(name, api.family("core"), "A test kind.", (), shape or (lambda args, ins: ins[0]),
                         api.keras_layer("Identity"), example=((((4, 3),), {}) if example else None))


def _clash() -> None:
    api.register_kinds(_kind("Conv2D"))


def _partial() -> None:
    api.register_kinds(_kind("PluginTestFirst"))
    raise RuntimeError("broken after registering one kind")


def _example_fails() -> None:
    def shape(args, ins):
        raise ZeroDivisionError("division by zero")
    registry.register_kinds(_kind("PluginTestBadExample", shape=shape))  # past plugin_api's checks


def _nothing() -> None:
    return None


def _new_family() -> None:
    family = api.Family("plugintest", "Plugin test", "#ffffff", "plugin tests")
    api.register_families(family)
    api.register_kinds(api.LayerKind("PluginTestOwn", family, "A test kind.", (), lambda args, ins: ins[0],
                                     api.keras_layer("Identity"), example=(((4, 3),), {})))


def _same_kind() -> None:
    api.register_kinds(_kind("PluginTestOwn"))


def _incomplete() -> None:
    api.register_kinds(_kind("PluginTestNoExample", example=False))


FAKE = types.ModuleType("archspec_fake_plugins")
for _f in (_clash, _partial, _example_fails, _nothing, _new_family, _same_kind, _incomplete):
    setattr(FAKE, _f.__name__.lstrip("_"), _f)


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An empty plugin state and the fake plugin module; what a test registers is removed."""
    monkeypatch.setitem(sys.modules, FAKE.__name__, FAKE)
    monkeypatch.setattr(plugins, "_STATE", plugins._State(loaded=True))
    kinds, families = set(registry.KINDS), set(registry.FAMILIES)
    reported: list[str] = []
    plugins.report_failures_with(reported.append)
    yield reported
    for name in set(registry.KINDS) - kinds:
        registry.unregister_kind(name)
    for name in set(registry.FAMILIES) - families:
        registry.unregister_family(name)


def _load(*functions: str) -> list[plugins.Plugin]:
    return plugins.load([EntryPoint(f, f"{FAKE.__name__}:{f}", plugins.GROUP) for f in functions])


def test_a_plugin_kind_and_family_are_registered_and_marked(fresh_state: list[str]) -> None:
    (plugin,) = _load("new_family")
    assert plugin.error is None and plugin.kinds == ("PluginTestOwn",) and plugin.families == ("plugintest",)
    assert registry.KINDS["PluginTestOwn"].family.name == "plugintest"
    assert plugins.origin("PluginTestOwn") is plugin and plugins.origin("Conv2D") is None
    assert plugins.mark("PluginTestOwn") == " (from entry point 'new_family')"
    assert fresh_state == []


@pytest.mark.parametrize("function, reason", [
    ("clash", "layer kind 'Conv2D' is already registered by archspec (a built-in kind)"),
    ("partial", "RuntimeError: broken after registering one kind"),
    ("example_fails", "its kind PluginTestBadExample is incomplete: its example fails: ZeroDivisionError"),
    ("nothing", "it registered no layer kinds"),
    ("incomplete", "layer kind 'PluginTestNoExample' is incomplete: it has no example"),
])
def test_a_failing_plugin_is_skipped_whole_and_reported_by_name(fresh_state: list[str], function: str,
                                                                 reason: str) -> None:
    kinds, families = dict(registry.KINDS), dict(registry.FAMILIES)
    (plugin,) = _load(function)
    assert plugin.error is not None and reason in plugin.error and plugin.kinds == ()
    assert registry.KINDS == kinds and registry.FAMILIES == families  # nothing of it is left
    assert registry.KINDS["Conv2D"].family.name == "conv"
    assert fresh_state == [plugin.failure()]
    assert f"plugin '{function}' (entry point '{function}') skipped: " in fresh_state[0]


def test_a_kind_taken_by_another_plugin_is_refused_naming_it(fresh_state: list[str]) -> None:
    first, second, third = _load("new_family", "same_kind", "new_family")
    assert first.error is None and registry.KINDS["PluginTestOwn"].family.name == "plugintest"
    assert second.error == ("ValueError: layer kind 'PluginTestOwn' is already registered by plugin 'new_family' "
                            "(entry point 'new_family')")
    assert third.error == "ValueError: layer family 'plugintest' is already registered"
    assert plugins.origin("PluginTestOwn") is first


def test_a_module_imported_before_the_loader_is_named(fresh_state: list[str]) -> None:
    (plugin,) = plugins.load([EntryPoint("early", FAKE.__name__, plugins.GROUP)])
    assert plugin.error is not None and plugin.error.startswith("its module was imported before archspec loaded")


def test_plugins_load_once_and_not_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(plugins, "_STATE", plugins._State())
    monkeypatch.setattr(plugins, "installed_entry_points", lambda: calls.append(1) or [])
    monkeypatch.setenv(plugins.DISABLE_VARIABLE, "0")
    plugins.ensure_loaded()
    plugins.ensure_loaded()
    assert calls == [1]
    monkeypatch.setattr(plugins, "_STATE", plugins._State())
    monkeypatch.setenv(plugins.DISABLE_VARIABLE, "1")
    assert plugins.plugins() == [] and calls == [1]


# ---------------------------------------------------------------- installed, through the CLI

BROKEN_METADATA = "Metadata-Version: 2.1\nName: archspec-broken-plugin\nVersion: 0.1\n"
BROKEN_ENTRY_POINTS = "[archspec.layers]\nbroken = archspec_broken_plugin\n"
BROKEN_MODULE = "raise RuntimeError('this plugin is broken on purpose')\n"
SPEC = """archspec: 1
name: plugged
input: [12, 10, 3]
layers:
  - AddCoords2D: {with_r: true}
    name: coords
  - Conv2D: {filters: 4, kernel_size: 3, padding: same}
    name: conv
  - BlurPool2D: {filter_size: 4}
    name: blur
    expect: [6, 5, 4]
  - BlurPool2D: {filter_size: 3, strides: [1, 2], padding: valid}
    name: blur_valid
  - BlurPool2D: {filter_size: 5, strides: 1, padding_mode: symmetric}
    name: blur_symmetric
  - BlurPool2D: {filter_size: 2, padding_mode: zeros}
    name: blur_zeros
  - AddCoords2D: {}
    expect: [2, 1, 6]
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example plugin installed with pip into one folder, a broken plugin in another."""
    root = tmp_path_factory.mktemp("plugins")
    source = root / "source"  # a copy: pip builds in the source tree
    shutil.copytree(ROOT / "examples" / "plugin", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    good = root / "good"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(good), str(source)], check=True, capture_output=True)
    broken = root / "broken"
    info = broken / "archspec_broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(BROKEN_METADATA)
    (info / "entry_points.txt").write_text(BROKEN_ENTRY_POINTS)
    (broken / "archspec_broken_plugin.py").write_text(BROKEN_MODULE)
    (root / "plugged.yaml").write_text(SPEC)
    return {"good": good, "broken": broken, "root": root, "spec": root / "plugged.yaml"}


def _run(sites: dict[str, Path], *args: str, on: tuple[str, ...] = ("good",), code: str | None = None
         ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != plugins.DISABLE_VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join([str(sites[s]) for s in on] + [str(ROOT / "tests")])
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "archspec.cli", *args]
    return subprocess.run(command, env=env, cwd=sites["root"], capture_output=True, text=True, timeout=300)


def test_installed_plugin_is_listed_with_its_kinds(sites: dict[str, Path]) -> None:
    result = _run(sites, "plugins")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "archspec-example-plugin 0.1.0 (entry point 'example': archspec_example_plugin.kinds)",
        "  kinds: AddCoords2D, BlurPool2D", "  families: coords"]
    layers = _run(sites, "layers")
    assert "BlurPool2D (from archspec-example-plugin 0.1.0), FixedConv2D" in layers.stdout
    assert "Coordinate channels:\n  AddCoords2D (from archspec-example-plugin 0.1.0)" in layers.stdout
    one = _run(sites, "layers", "BlurPool2D")
    assert "From the plugin archspec-example-plugin 0.1.0" in one.stdout
    assert "MACs = K_h*K_w*C*H'*W' = 3*3*16*16*16 = 36,864" in one.stdout


def test_schema_and_validate_know_the_plugin_kinds(sites: dict[str, Path]) -> None:
    schema = json.loads(_run(sites, "schema").stdout)
    text = json.dumps(schema)
    assert "BlurPool2D" in text and "AddCoords2D" in text
    bad = sites["root"] / "bad.yaml"
    bad.write_text(SPEC.replace("filter_size: 4", "filter_size: 9"))
    result = _run(sites, "validate", str(bad))
    assert result.returncode == 2 and "bad.yaml:9:" in result.stderr and "filter_size" in result.stderr, \
        result.stderr


NO_TENSORFLOW = """import sys
from archspec.cli import main
for command in (["validate", sys.argv[1]], ["summary", sys.argv[1], "--format", "json"], ["explain", sys.argv[1]],
                ["graph", sys.argv[1], "-o", "net.svg", "--force"]):
    try:
        main(command)
    except SystemExit as exc:
        assert not exc.code, (command, exc.code)
from archspec.api import compile_spec
from explain_agreement import check_agreement  # every keyed number explain prints equals the analysis
print("agreeing equations:", check_agreement(compile_spec(sys.argv[1]).analysis))
bad = [m for m in ("tensorflow", "keras") if m in sys.modules]
assert not bad, bad
"""


def test_validate_summary_explain_graph_never_import_tensorflow(sites: dict[str, Path]) -> None:
    result = _run(sites, str(sites["spec"]), code=NO_TENSORFLOW)
    assert result.returncode == 0, result.stderr
    summary = _summary(sites)
    layers = {layer["name"]: layer for layer in summary["layers"]}
    assert layers["coords"]["output_shape"] == [12, 10, 6] and layers["blur"]["output_shape"] == [6, 5, 4]
    assert layers["blur"]["params"] == 0 and layers["blur"]["macs"] == 4 * 4 * 4 * 6 * 5
    assert layers["blur_valid"]["output_shape"] == [4, 2, 4]
    assert layers["blur_valid"]["macs"] == 3 * 3 * 4 * 4 * 2
    # RF_in + (K - 1)*jump: conv 3, blur 3 + 3*1 = 6 (jump 2), blur_valid 6 + 2*2 = 10 (jumps 2 and 4)
    assert layers["blur"]["receptive_field"] == [6, 6] and layers["blur"]["effective_stride"] == [2, 2]
    assert layers["blur_valid"]["receptive_field"] == [10, 10] and layers["blur_valid"]["effective_stride"] == [2, 4]
    assert "agreeing equations: " in result.stdout and "agreeing equations: 0" not in result.stdout
    assert summary["total_params"] == (3 * 3 * 6 + 1) * 4
    assert "H' = floor((H - K + P_before + P_after) / S) + 1 = floor((12 - 4 + 1 + 2) / 2) + 1 = 6" in result.stdout
    assert (sites["root"] / "net.svg").read_text().count("BlurPool2D") >= 2


def _summary(sites: dict[str, Path]) -> dict:
    result = _run(sites, "summary", str(sites["spec"]), "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


BUILD_AND_LOAD = """import sys
import numpy as np
from archspec.cli import main
try:
    main(["build", sys.argv[1], "-o", "net.keras", "--verify", "--force"])
except SystemExit as exc:
    assert not exc.code, exc.code
import archspec, keras  # a fresh load: the plugin's layers are registered when Keras is imported
model = keras.saving.load_model("net.keras")
x = np.random.default_rng(0).normal(size=(2, 12, 10, 3)).astype("float32")
coords = model.get_layer("coords")(x)
i, j = np.meshgrid(np.linspace(-1, 1, 12), np.linspace(-1, 1, 10), indexing="ij")
want = np.concatenate([x, np.broadcast_to(np.stack([i, j, np.hypot(i, j)], -1), (2, 12, 10, 3))], -1)
assert np.allclose(coords, want, atol=1e-6)
conv = model.get_layer("conv")(coords)
row = np.array([1, 3, 3, 1]) / 8
padded = np.pad(np.asarray(conv), ((0, 0), (1, 2), (1, 2), (0, 0)), mode="reflect")
blur = np.asarray(model.get_layer("blur")(conv))
for a in range(6):
    for b in range(5):
        window = padded[:, 2 * a:2 * a + 4, 2 * b:2 * b + 4, :]
        assert np.allclose(blur[:, a, b], np.einsum("bhwc,h,w->bc", window, row, row), atol=1e-5)
print("params", model.count_params(), "blur output", blur.shape)
"""


@pytest.fixture(scope="module")
def built(sites: dict[str, Path]) -> subprocess.CompletedProcess:
    """The spec built with --verify into net.keras, loaded back and run (one TensorFlow start)."""
    return _run(sites, str(sites["spec"]), code=BUILD_AND_LOAD)


@pytest.mark.slow
def test_build_verify_save_and_load_compute_the_blur(built: subprocess.CompletedProcess) -> None:
    assert built.returncode == 0, built.stderr[-3000:]
    assert "verified against the analysis" in built.stdout
    assert f"params {(3 * 3 * 6 + 1) * 4} blur output (2, 6, 5, 4)" in built.stdout


@pytest.mark.slow
def test_import_maps_the_plugin_layers_back_to_their_kinds(sites: dict[str, Path],
                                                           built: subprocess.CompletedProcess) -> None:
    assert built.returncode == 0, built.stderr[-3000:]
    result = _run(sites, "import", "net.keras", "-o", "imported.yaml", "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    text = (sites["root"] / "imported.yaml").read_text()
    assert "- BlurPool2D: {filter_size: 4}" in text and "- AddCoords2D: {with_r: true}" in text
    imported = _run(sites, "summary", "imported.yaml", "--format", "json")
    keys = ("name", "type", "output_shape", "params", "trainable_params", "macs")
    rows = [[layer[k] for k in keys] for layer in json.loads(imported.stdout)["layers"]]
    assert rows == [[layer[k] for k in keys] for layer in _summary(sites)["layers"]]


HOSTILE = """import sys, tempfile
from pathlib import Path
import pytest
from archspec import plugins
plugins.ensure_loaded()
from layer_samples import SAMPLES
import test_robustness
SAMPLES["BlurPool2D"] = [([13, 11, 4], {"filter_size": 4})]
SAMPLES["AddCoords2D"] = [([13, 11, 4], {"with_r": True})]
for kind in ("BlurPool2D", "AddCoords2D"):
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        test_robustness.test_every_argument_of_every_kind_takes_hostile_values(kind, Path(folder), patch)
print("no internal errors")
"""


def test_every_argument_of_the_plugin_kinds_takes_hostile_values(sites: dict[str, Path]) -> None:
    """The check every built-in kind passes (tests/test_robustness.py), run on the plugin's kinds."""
    result = _run(sites, code=HOSTILE)
    assert result.returncode == 0 and "no internal errors" in result.stdout, result.stderr[-3000:]


def test_a_broken_plugin_is_reported_and_the_rest_works(sites: dict[str, Path]) -> None:
    listing = _run(sites, "plugins", on=("good", "broken"))
    assert listing.returncode == 1
    assert ("archspec-broken-plugin 0.1 (entry point 'broken': archspec_broken_plugin)\n"
            "  skipped: RuntimeError: this plugin is broken on purpose") in listing.stdout
    assert "kinds: AddCoords2D, BlurPool2D" in listing.stdout and listing.stderr == ""
    result = _run(sites, "validate", str(sites["spec"]), str(ROOT / "specs" / "lenet5.yaml"), on=("good", "broken"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("archspec: plugin 'broken' (archspec-broken-plugin 0.1) skipped: RuntimeError: this "
                             "plugin is broken on purpose; its layer kinds are not available (fix the plugin, or "
                             "pip uninstall archspec-broken-plugin; ARCHSPEC_NO_PLUGINS=1 skips every plugin)\n")
    alone = _run(sites, "summary", str(ROOT / "specs" / "lenet5.yaml"), on=("broken",))
    assert alone.returncode == 0 and "61,706" in alone.stdout and "plugin 'broken'" in alone.stderr
