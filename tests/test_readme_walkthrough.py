"""Every command the README and the docs show works as written, for a new user.

The documents are read as a new user reads them: each ``archspec ...`` command line (in a code
block, or inline in the prose) must name a real command and only options that command has, with
values it accepts; a command that writes over a file of the repository must say ``--force``
(the command refuses without it); every ``pip install`` installs from the checkout (the name
``archspec`` on PyPI is another project, and no package of this repository is published); the
outputs the documents quote from the analysis commands are what those commands print; the
README's command table and ``archspec --help`` agree; and every command's ``--help`` works with
only the light install (no TensorFlow, Keras, NumPy, Pillow or Starlette), while a command that
needs an extra says which one to install.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.errors import UserError
from archspec.io import check_output

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("**/*.md"))]
CONTEXT = click.Context(main)
COMMANDS = {name: main.get_command(CONTEXT, name) for name in main.list_commands(CONTEXT)}

_FENCE = re.compile(r"^```(?P<lang>[^\n]*)\n(?P<body>.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`((?:[A-Z_]+=\S+ )*archspec [^`]+)`")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Shown:
    """One command line a document shows, where it shows it."""

    where: str
    line: str

    def tokens(self) -> list[str]:
        """The words of the command after ``archspec``: environment settings, ``[...]`` marks of
        optional parts, ``...`` and a trailing comment left out."""
        words = shlex.split(re.sub(r"\s+#.*$", "", self.line))
        while words and _ENV.match(words[0]):
            words.pop(0)
        assert words and words[0] == "archspec", self
        return [w.strip("[]") for w in words[1:] if w not in ("...", "[...]") and w.strip("[]")]


def shown_commands() -> list[Shown]:
    """Every ``archspec`` command line of the documents: in shell code blocks (``$`` prompts and
    ``pip ... && archspec ...`` chains too) and in inline code."""
    found: list[Shown] = []
    for doc in DOCUMENTS:
        text, name = doc.read_text(encoding="utf-8"), doc.relative_to(ROOT)
        for block in _FENCE.finditer(text):
            if block.group("lang").strip() not in ("", "bash", "sh", "shell", "console"):
                continue
            first = text.count("\n", 0, block.start("body")) + 1
            for offset, raw in enumerate(block.group("body").splitlines()):
                for part in raw.removeprefix("$ ").split("&&"):
                    part = part.strip()
                    if re.match(r"^(?:[A-Z_]+=\S+ )*archspec(?: |$)", part):
                        found.append(Shown(f"{name}:{first + offset}", part))
        prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for match in _INLINE.finditer(prose):
            found.append(Shown(f"{name}:{prose.count(chr(10), 0, match.start()) + 1}", match.group(1)))
    return found


SHOWN = shown_commands()


def _options(command: click.Command) -> dict[str, click.Parameter]:
    return {name: p for p in command.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}


def _problems(shown: Shown) -> list[str]:
    """What is wrong with a command line as a document shows it ([] when nothing)."""
    words = shown.tokens()
    while words and words[0] in ("--verbose", "-h", "--help"):
        words.pop(0)
    if not words or words[0].isupper() or words[0].endswith(":"):  # COMMAND: any; "archspec studio: URL" is output
        return []
    if words[0] not in COMMANDS:
        return [f"no command {words[0]!r}"]
    command, options, problems = COMMANDS[words[0]], _options(COMMANDS[words[0]]), []
    rest = iter(words[1:])
    for word in rest:
        if not word.startswith("-") or word == "-":
            continue
        name, _, value = word.partition("=")
        if name in ("-h", "--help"):
            continue
        option = options.get(name)
        if option is None:
            problems.append(f"{words[0]} has no option {name}")
            continue
        if option.is_flag or option.count:
            continue
        value = value or next(rest, "")
        if isinstance(option.type, click.Choice) and not value.isupper():  # FORMAT: a placeholder
            problems += [f"{name} {alternative!r} is not one of {list(option.type.choices)}"
                         for alternative in value.split("|") if alternative not in option.type.choices]
    return problems


def test_the_documents_show_commands_of_every_kind() -> None:
    shown = {s.tokens()[0] for s in SHOWN if s.tokens() and s.tokens()[0] in COMMANDS}
    assert len(SHOWN) > 80 and {"summary", "train", "serve", "import", "plugins", "predict"} <= shown


def test_every_shown_command_exists_with_the_options_it_is_shown_with() -> None:
    wrong = [f"{s.where}: {s.line}: {problem}" for s in SHOWN for problem in _problems(s)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_option_and_a_wrong_choice() -> None:
    assert _problems(Shown("x", "archspec explain net.yaml --layers c1")) == ["explain has no option --layers"]
    assert _problems(Shown("x", "archspec export runs/r --format savedmodel|keras")) == \
        ["--format 'keras' is not one of ['savedmodel', 'tflite', 'onnx']"]
    assert _problems(Shown("x", "ARCHSPEC_NO_PLUGINS=1 archspec schema -o s.json --force  # a comment")) == []
    assert _problems(Shown("x", "archspec evaluate runs/<run> [--data SOURCE]")) == []


def test_a_shown_command_writing_over_a_file_of_the_repository_says_force() -> None:
    """Run from the repository's root as shown, such a command would be refused (exit 2)."""
    refused = []
    for shown in SHOWN:
        words = shown.tokens()
        for flag, target in zip(words, words[1:]):
            if flag in ("-o", "--output") and target != "-" and (ROOT / target).is_file() and "--force" not in words:
                refused.append(f"{shown.where}: {shown.line}")
    assert not refused, "these would be refused (the file exists); add --force:\n" + "\n".join(refused)


# ---------------------------------------------------------------- installing
def _pip_installs() -> list[tuple[str, str]]:
    found = []
    for doc in DOCUMENTS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for match in re.finditer(r"pip install ([^`#&;)]*)", line):
                found.append((f"{doc.relative_to(ROOT)}:{number}", match.group(1).strip()))
    return found


EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def _install_problems(args: str) -> list[str]:
    """What is wrong with ``pip install ARGS`` run from the checkout's root ([] when nothing)."""
    problems = []
    for word in (w for w in shlex.split(args) if not w.startswith("-")):
        path, _, wanted = word.partition("[")
        if not ((path == "." or "/" in path) and (ROOT / path).is_dir() or path.isupper()):  # DIR: a placeholder
            problems.append(f"{path!r} is not a folder of the checkout (archspec on PyPI is another project, "
                            "and no package of this repository is published)")
        unknown = set(filter(None, wanted.rstrip("]").split(","))) - EXTRAS
        if unknown:
            problems.append(f"no extra {sorted(unknown)}")
    return problems


def test_every_pip_install_installs_from_the_checkout_with_extras_that_exist() -> None:
    wrong = [f"{where}: pip install {args}: {problem}" for where, args in _pip_installs()
             for problem in _install_problems(args)]
    assert not wrong, "\n".join(wrong)
    assert len(_pip_installs()) >= 5


def test_the_install_check_sees_registry_names_and_unknown_extras() -> None:
    assert _install_problems('-e ".[tf,onnx,dev]"') == [] and _install_problems("-e examples/plugin") == []
    assert len(_install_problems('"archspec[tf]"')) == 1 and len(_install_problems("archspec-example-plugin")) == 1
    assert _install_problems('-e ".[gpu]"') == ["no extra ['gpu']"]


# ---------------------------------------------------------------- quoted outputs
def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _squeezed(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


QUOTED = [(doc, m) for doc in DOCUMENTS for m in _FENCE.finditer(doc.read_text(encoding="utf-8"))
          if re.match(r"\$ archspec (summary|explain|validate|layers|zoo|diff) ", m.group("body"))]


@pytest.mark.parametrize("doc, block", QUOTED, ids=[f"{d.name}:{b.group('body').split(chr(10))[0]}" for d, b in QUOTED])
def test_a_quoted_analysis_output_is_what_the_command_prints(doc: Path, block: re.Match, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    command, *quoted = block.group("body").splitlines()
    printed = _squeezed(_invoke(*shlex.split(command.removeprefix("$ archspec "))))
    missing = [line for line in _squeezed("\n".join(quoted)) if line and line != "..." and line not in printed]
    assert not missing, f"{doc.name} quotes lines that `{command[2:]}` does not print: {missing}"


def test_the_documents_quote_analysis_outputs() -> None:
    assert {m.group("body").split("\n")[0] for _, m in QUOTED} >= {"$ archspec explain specs/lenet5.yaml c1"}


def test_the_readme_json_contract_is_what_summary_prints(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", readme, re.S).group(1)
    top, first_layer = block.split('"layers": [', 1)
    printed = json.loads(_invoke("summary", "specs/lenet5.yaml", "--format", "json"))
    pairs = re.compile(r'"(\w+)": (\[[^\]]*\]\]?|\{[^}]*\}|"[^"]*"|null|-?\d+)')
    for text, record in ((top, printed), (first_layer, printed["layers"][0])):
        for key, value in pairs.findall(text):
            if key != "layers":
                assert record[key] == json.loads(value), (key, value)
    assert len(pairs.findall(block)) >= 15


def test_the_readme_zoo_table_is_what_the_zoo_counts() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    zoo = {row["name"]: row for row in json.loads(_invoke("zoo", "--format", "json"))}
    checked = 0
    for names, counts in re.findall(r"^\| (`[\w-]+`(?:, `[\w-]+`)*) \| ([\d,/; ]+) \|", readme, re.M):
        names = re.findall(r"`([\w-]+)`", names)
        stem = re.sub(r"\d+$", "", names[0])
        full = [stem + n if n.isdigit() else n for n in names]
        for name, count in zip(full, counts.split(";")):
            total, _, trainable = count.partition("/")
            row = zoo[name]
            assert int(total.replace(",", "")) == row["total_params"], name
            if trainable:  # a row with one number gives the total
                assert int(trainable.replace(",", "")) == row["trainable_params"], name
            checked += 1
    assert checked >= 25


# ---------------------------------------------------------------- the command table and --help
def test_the_readme_names_every_command_and_only_real_ones() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `archspec (\w+)", readme, re.M)
    assert table and set(table) <= set(COMMANDS), set(table) - set(COMMANDS)
    mentioned = set(re.findall(r"archspec (\w+)", readme))
    assert set(COMMANDS) <= mentioned, f"the README never shows {sorted(set(COMMANDS) - mentioned)}"


def test_every_option_says_what_it_does() -> None:
    """``--help`` explains each option; a --format with its choices listed speaks for itself."""
    silent = [f"archspec {name} {p.opts[0]}" for name, command in COMMANDS.items() for p in command.params
              if isinstance(p, click.Option) and not p.help
              and not (p.name == "fmt" or (p.opts[0] == "--format" and isinstance(p.type, click.Choice)))]
    assert not silent, silent
    assert all(command.help for command in COMMANDS.values())


LIGHT_SCRIPT = r"""
import json, sys
from click.testing import CliRunner
from archspec.cli import main
out = {}
for name in sorted(main.list_commands(None)):
    result = CliRunner().invoke(main, [name, "--help"], prog_name="archspec")
    out[name] = [result.exit_code, result.output]
for args in (["zoo"], ["new", "lenet5", "-o", "-"], ["plugins"], ["build", "specs/lenet5.yaml", "-o", sys.argv[1]],
             ["train", "specs/lenet5.yaml", "--data", "builtin:digits", "--epochs", "1", "--out", sys.argv[2]],
             ["serve", "specs/lenet5.yaml", "--no-browser", "--port", "0"]):
    result = CliRunner().invoke(main, args, prog_name="archspec")
    out["run " + args[0]] = [result.exit_code, result.output]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def light(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """Every command's --help, and a few commands, with only the light install's modules."""
    folder = tmp_path_factory.mktemp("light")
    for module in ("tensorflow", "keras", "numpy", "PIL", "starlette", "uvicorn"):
        (folder / module).mkdir()
        (folder / module / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n")
    env = {**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", LIGHT_SCRIPT, str(folder / "n.keras"), str(folder / "run")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_help_works_without_the_extras(light: dict[str, list]) -> None:
    for name in COMMANDS:
        code, text = light[name]
        assert code == 0 and text.startswith(f"Usage: archspec {name} "), (name, text)


def test_the_light_install_runs_the_analysis_side(light: dict[str, list]) -> None:
    assert light["run zoo"][0] == 0 and "lenet5" in light["run zoo"][1]
    assert light["run new"][0] == 0 and "archspec: 1" in light["run new"][1]
    assert light["run plugins"][0] == 0


@pytest.mark.parametrize("command, extra", [("build", "tf"), ("train", "tf"), ("serve", "studio")])
def test_a_command_that_needs_an_extra_says_which(light: dict[str, list], command: str, extra: str) -> None:
    code, text = light["run " + command]
    assert code == 1 and f"install the '{extra}' extra: pip install -e \".[{extra}]\"" in text, text
    assert "Traceback" not in text


# ---------------------------------------------------------------- refusals name the right option
def test_a_refusal_to_overwrite_names_the_option_that_chooses_the_place(tmp_path: Path) -> None:
    taken = tmp_path / "detections.json"
    taken.write_text("{}")
    with pytest.raises(UserError) as default:
        check_output(taken)
    with pytest.raises(UserError) as pictures:
        check_output(taken, option="--pictures-dir")
    with pytest.raises(UserError) as own_input:
        check_output(taken, [taken], option="--masks-dir")
    assert default.value.hint == "choose another file with -o, or pass --force to overwrite it"
    assert pictures.value.hint == "choose another folder with --pictures-dir, or pass --force to overwrite it"
    assert own_input.value.hint == "choose another folder with --masks-dir"


TFLITE_SCRIPT = r"""
import sys, keras
from archspec.train.export import export_model, verify_export
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
path = export_model(model, "tflite", __import__("pathlib").Path(sys.argv[1]))
print(verify_export(model, "tflite", path))
"""


def test_a_tflite_export_verifies_without_tflites_own_log_line(tmp_path: Path) -> None:
    """`archspec export --format tflite` printed TFLite's "INFO: Created TensorFlow Lite XNNPACK
    delegate for CPU." (C++, file descriptor 2, once per process: hence a process of its own)."""
    pytest.importorskip("keras")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ARCHSPEC_VERBOSE")}
    script = "from archspec.tensorflow_noise import quiet_tensorflow; quiet_tensorflow()\n" + TFLITE_SCRIPT
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.tflite")], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) < 1e-4
    assert "XNNPACK" not in done.stderr, done.stderr
