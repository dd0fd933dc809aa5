"""`archspec serve` as a user runs it, in a subprocess: it prints its real address, listens on
loopback only by default, answers, refuses a foreign Host, and stops cleanly on SIGINT and
SIGTERM; another --host warns."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = re.compile(r"^archspec studio: http://([\d.]+):(\d+)/$")


def start(path: Path, *options: str) -> tuple[subprocess.Popen, str, int]:
    process = subprocess.Popen([sys.executable, "-m", "archspec.cli", "serve", str(path), "--port", "0",
                                "--no-browser", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = ADDRESS.match(line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")
    return process, match.group(1), int(match.group(2))


def stop(process: subprocess.Popen, sig: int) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port``, from /proc/net/tcp (hex little-endian IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def get(host: str, port: int, path: str, host_header: str | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", path, headers={"Host": host_header or f"{host}:{port}"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "net.yaml"
    path.write_text((ROOT / "specs" / "lenet5.yaml").read_text())
    return path


@pytest.fixture(scope="module")
def server(spec: Path) -> Iterator[tuple[subprocess.Popen, str, int]]:
    process, host, port = start(spec)
    yield process, host, port
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_serve_prints_its_address_and_answers(server: tuple[subprocess.Popen, str, int]) -> None:
    _, host, port = server
    assert host == "127.0.0.1" and port > 0
    status, body = get(host, port, "/api/session")
    assert status == 200 and body["mode"] == "spec" and body["current"] == "net.yaml"
    status, body = get(host, port, "/api/file?path=net.yaml", host_header=f"attacker.example:{port}")
    assert status == 403


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads the listening sockets from /proc/net/tcp")
def test_serve_listens_on_loopback_only(server: tuple[subprocess.Popen, str, int]) -> None:
    assert listening_addresses(server[2]) == {"127.0.0.1"}


def test_serve_stops_cleanly_on_sigint(server: tuple[subprocess.Popen, str, int]) -> None:
    code, out, err = stop(server[0], signal.SIGINT)
    assert code == 0 and out.strip() == "archspec studio: stopped" and "Traceback" not in err


def test_serve_stops_cleanly_on_sigterm_and_warns_off_loopback(spec: Path) -> None:
    process, host, port = start(spec, "--host", "0.0.0.0")
    assert host == "127.0.0.1"  # the address a browser can open
    assert get(host, port, "/api/session")[0] == 200
    code, out, err = stop(process, signal.SIGTERM)
    assert code == 0 and out.strip() == "archspec studio: stopped"
    assert "warning: listening on 0.0.0.0, not only on this machine" in err


def test_serve_of_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "archspec.cli", "serve", str(tmp_path / "none.yaml"), "--no-browser"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_serve_of_a_run_without_the_tf_extra_names_it_before_starting(tmp_path: Path, monkeypatch) -> None:
    """The explorer needs Keras: without it, `serve RUN_DIR` says which extra to install and starts
    nothing (it used to start and answer the page's requests with a 500)."""
    import importlib.util

    from click.testing import CliRunner

    from archspec.cli import main

    (tmp_path / "train_config.json").write_text("{}")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras" else real(name, *a))
    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--no-browser", "--port", "0"])
    assert result.exit_code == 1, result.output
    assert "this command needs keras, which is not installed; install the 'tf' extra" in result.output
    assert "archspec studio: http" not in result.output
