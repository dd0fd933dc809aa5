"""Plugins: layer kinds from other packages, found through the entry-point group ``archspec.layers``.

An entry point names a module (importing it registers kinds and families through
``archspec.plugin_api``) or a function (``module:function``, called with no arguments, which
does). ``catalog.all_kinds()`` loads every installed plugin once per process, before any
surface reads the catalog. A plugin that fails to import, raises, registers nothing, registers
an unsound record or a name already taken is skipped whole (what it registered is removed) and
kept as a failure naming it; the built-in kinds never depend on it. ``ARCHSPEC_NO_PLUGINS=1``
turns loading off (the test suite and the generated references use the built-in kinds only).

Pure Python: a plugin's Keras layers are imported by its builder, never here.
"""
from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field, replace
from importlib import metadata
from types import ModuleType
from typing import Callable, Iterable, Optional

from archspec.layers import registry
from archspec.layers.registry import LayerKind

GROUP = "archspec.layers"
DISABLE_VARIABLE = "ARCHSPEC_NO_PLUGINS"


@dataclass(frozen=True)
class Plugin:
    """One entry point of the group and what loading it gave: its kinds and families, or
    ``error``, why it was skipped."""

    name: str                      # the entry point's name
    target: str                    # what it names: "module" or "module:function"
    dist: Optional[str] = None     # the distribution that declares it
    version: Optional[str] = None
    kinds: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    keras_modules: tuple[str, ...] = ()  # modules holding its Keras layers (see import_keras_layers)
    error: Optional[str] = None

    @property
    def label(self) -> str:
        """How reports name the plugin: its distribution and version, or the entry point.

        >>> Plugin("blur", "m", "archspec-example-plugin", "0.1.0").label
        'archspec-example-plugin 0.1.0'
        >>> Plugin("blur", "m").label
        "entry point 'blur'"
        """
        if self.dist:
            return f"{self.dist} {self.version}" if self.version else self.dist
        return f"entry point '{self.name}'"

    def failure(self) -> str:
        """The one-line warning for a plugin that was skipped."""
        how = f"pip uninstall {self.dist}" if self.dist else f"remove the entry point '{self.name}'"
        return (f"archspec: plugin '{self.name}' ({self.label}) skipped: {self.error}; its layer kinds are not "
                f"available (fix the plugin, or {how}; {DISABLE_VARIABLE}=1 skips every plugin)")


@dataclass
class _State:
    loaded: bool = False
    plugins: list[Plugin] = field(default_factory=list)
    origins: dict[str, Plugin] = field(default_factory=dict)  # kind name -> the plugin that registered it
    declared: list[str] = field(default_factory=list)  # Keras modules named by the plugin loading now
    reporter: Optional[Callable[[str], None]] = None


_STATE = _State()


def ensure_loaded() -> None:
    """Load the installed plugins, once per process (unless ``ARCHSPEC_NO_PLUGINS`` is set)."""
    if _STATE.loaded:
        return
    _STATE.loaded = True  # first: a plugin that reads the catalog while loading must not recurse
    if os.environ.get(DISABLE_VARIABLE, "") not in ("", "0"):
        return
    load(installed_entry_points())


def installed_entry_points() -> list[metadata.EntryPoint]:
    """The group's entry points, in a stable order (distribution, then name)."""
    points = metadata.entry_points(group=GROUP)
    return sorted(points, key=lambda ep: (_dist_of(ep)[0] or "", ep.name))


def load(entry_points: Iterable[metadata.EntryPoint]) -> list[Plugin]:
    """Load each entry point; return (and remember) what each gave. Failures are reported."""
    importlib.import_module("archspec.layers.catalog")  # the built-in kinds first: a plugin's are what it adds
    results = []
    for entry_point in entry_points:
        plugin = _load_one(entry_point)
        results.append(plugin)
        _STATE.plugins.append(plugin)
        _STATE.origins.update({kind: plugin for kind in plugin.kinds})
        if plugin.error and _STATE.reporter:
            _STATE.reporter(plugin.failure())
    return results


def plugins() -> list[Plugin]:
    """Every plugin loaded in this process, failures included (loads them first)."""
    ensure_loaded()
    return list(_STATE.plugins)


def origin(kind_name: str) -> Optional[Plugin]:
    """The plugin that registered a kind; None for a built-in kind."""
    return _STATE.origins.get(kind_name)


def mark(kind_name: str) -> str:
    """What ``archspec layers`` writes after a plugin kind's name (nothing for a built-in).

    >>> mark("Conv2D")
    ''
    """
    plugin = origin(kind_name)
    return f" (from {plugin.label})" if plugin else ""


def provenance(kind_name: str) -> list[str]:
    """The sentence saying which plugin a kind comes from, for its description."""
    plugin = origin(kind_name)
    return [f"From the plugin {plugin.label} (entry point '{plugin.name}': {plugin.target})."] if plugin else []


def report_failures_with(reporter: Optional[Callable[[str], None]]) -> None:
    """Who is told, as each plugin is skipped (the command line prints to stderr)."""
    _STATE.reporter = reporter


def _dist_of(entry_point: metadata.EntryPoint) -> tuple[Optional[str], Optional[str]]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"] or dist.name, dist.version


def _load_one(entry_point: metadata.EntryPoint) -> Plugin:
    """Run one entry point; on any problem undo what it registered and say why."""
    found = Plugin(entry_point.name, entry_point.value, *_dist_of(entry_point))
    kinds_before, families_before = set(registry.KINDS), set(registry.FAMILIES)
    imported_before = entry_point.attr is None and entry_point.module in sys.modules  # a module entry point
    _STATE.declared.clear()
    try:
        _run(entry_point)
        kinds = tuple(k for k in registry.KINDS if k not in kinds_before)
        families = tuple(f for f in registry.FAMILIES if f not in families_before)
        problem = _problem(kinds, families, imported_before)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of foreign code skips that plugin
        problem = _describe(exc)
    if problem is None:
        return replace(found, kinds=kinds, families=families, keras_modules=tuple(dict.fromkeys(_STATE.declared)))
    _undo(kinds_before, families_before)
    return replace(found, error=problem)


def _run(entry_point: metadata.EntryPoint) -> None:
    loaded = entry_point.load()
    if isinstance(loaded, ModuleType):
        return  # importing the module registered its kinds
    if not callable(loaded):
        raise TypeError(f"{entry_point.value} is neither a module nor a function")
    loaded()


def _describe(exc: BaseException) -> str:
    """
    >>> _describe(ModuleNotFoundError("No module named 'x'", name="x"))
    "ModuleNotFoundError: No module named 'x'"
    """
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _problem(kinds: tuple[str, ...], families: tuple[str, ...], imported_before: bool) -> Optional[str]:
    """Why the kinds a plugin registered cannot be used, or None when they are sound."""
    if not kinds and not families and imported_before:
        return ("its module was imported before archspec loaded the plugins, so archspec cannot tell its kinds "
                "(let archspec import it: archspec.layers.catalog.all_kinds() loads every plugin)")
    if not kinds and not families:
        return ("it registered no layer kinds (its entry point must name a module that calls "
                "archspec.plugin_api.register_kinds, or a function that does)")
    for name in kinds:
        kind = registry.KINDS[name]
        problems = registry.record_problems(kind) or example_problems(kind)
        if problems:
            return f"its kind {name} is incomplete: " + "; ".join(problems)
    return None


def example_problems(kind: LayerKind) -> list[str]:
    """A record's example must run through its shape, params, MACs and explain rules, since
    ``archspec layers NAME`` shows it."""
    if kind.example is None:
        return []  # record_problems says so
    ins, given = kind.example
    try:
        args = kind.with_defaults(given)
        out = kind.output_shape(args, ins)
        kind.params(args, ins, out), kind.macs(args, ins, out), kind.explain(args, ins, out)
        if kind.window is not None:
            kind.window(args, ins, out)
    except Exception as exc:  # noqa: BLE001 - foreign rules may raise anything
        return [f"its example fails: {_describe(exc)}"]
    return []


def _undo(kinds_before: set[str], families_before: set[str]) -> None:
    """Remove what a skipped plugin registered: its kinds, then its families."""
    for name in [k for k in registry.KINDS if k not in kinds_before]:
        registry.unregister_kind(name)
    for name in [f for f in registry.FAMILIES if f not in families_before]:
        registry.unregister_family(name)


def declare_keras_module(module: str) -> None:
    """Note that the plugin being loaded keeps Keras layers in ``module`` (its builders do)."""
    _STATE.declared.append(module)


def import_keras_layers() -> None:
    """Import every loaded plugin's Keras layer modules, so that ``keras.saving.load_model``
    finds the layers they register; archspec calls it when Keras is imported."""
    for plugin in plugins():
        for module in plugin.keras_modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - Keras itself must still import
                if _STATE.reporter:
                    _STATE.reporter(f"archspec: plugin '{plugin.name}' ({plugin.label}): its Keras layers "
                                    f"({module}) failed to import: {_describe(exc)}")
