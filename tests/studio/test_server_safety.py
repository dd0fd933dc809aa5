"""The studio's guard: a foreign Host (DNS rebinding) or Origin, or a form-encoded body, is
refused with 403 and leaves the file untouched; the editor never imports TensorFlow."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from archspec.studio.safety import Address  # noqa: E402
from archspec.studio.server import create_app  # noqa: E402
from archspec.studio.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "specs" / "lenet5.yaml").read_text()
PORT = 8765


@pytest.fixture()
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(TEXT)
    return path


@pytest.fixture()
def client(spec_file: Path) -> Iterator[TestClient]:
    app = create_app(Workspace.open(spec_file), Address("127.0.0.1", PORT))
    with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as c:
        yield c


def save_body(spec_file: Path) -> bytes:
    return json.dumps({"path": "net.yaml", "text": "overwritten", "base_version": None, "force": True}).encode()


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1:9999", "localhost", "127.0.0.1.evil.example:8765",
                                  ""])
def test_a_foreign_host_is_refused_and_the_file_untouched(client: TestClient, spec_file: Path, host: str) -> None:
    for response in (client.get("/api/file", params={"path": "net.yaml"}, headers={"host": host}),
                     client.get("/", headers={"host": host}),
                     client.post("/api/save", content=save_body(spec_file),
                                 headers={"host": host, "content-type": "application/json"})):
        assert response.status_code == 403 and "not this server's" in response.json()["error"]
    assert spec_file.read_text() == TEXT


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "LOCALHOST:8765", "[::1]:8765"])
def test_the_servers_own_names_are_served(client: TestClient, host: str) -> None:
    response = client.get("/api/session", headers={"host": host})
    assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999", "null", "https://127.0.0.1:8765"])
def test_a_post_from_a_foreign_origin_is_refused_and_the_file_untouched(client: TestClient, spec_file: Path,
                                                                       origin: str) -> None:
    response = client.post("/api/save", content=save_body(spec_file),
                           headers={"origin": origin, "content-type": "application/json"})
    assert response.status_code == 403 and "may not change anything" in response.json()["error"]
    assert spec_file.read_text() == TEXT


def test_a_post_from_the_servers_own_origin_is_served(client: TestClient, spec_file: Path) -> None:
    response = client.post("/api/save", content=save_body(spec_file),
                           headers={"origin": "http://localhost:8765", "content-type": "application/json"})
    assert response.status_code == 200 and spec_file.read_text() == "overwritten"


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None])
def test_a_post_that_a_plain_form_could_send_is_refused(client: TestClient, spec_file: Path, media: str) -> None:
    headers = {"content-type": media} if media else {}
    response = client.post("/api/save", content=save_body(spec_file), headers=headers)
    assert response.status_code == 403 and response.json()["error"] == "the body must be application/json"
    assert spec_file.read_text() == TEXT


def test_the_page_is_served_with_its_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get("/static/../server.py").status_code == 404


def test_the_editor_never_imports_tensorflow(spec_file: Path) -> None:
    script = textwrap.dedent(f"""
        import json, sys
        from starlette.testclient import TestClient
        from archspec.studio.safety import Address
        from archspec.studio.server import create_app
        from archspec.studio.workspace import Workspace
        import archspec.cli  # every command registered, as `archspec serve` runs
        client = TestClient(create_app(Workspace.open({str(spec_file)!r}), Address("127.0.0.1", 1)),
                            base_url="http://127.0.0.1:1")
        post = lambda url, body: client.post(url, content=json.dumps(body), headers={{"content-type": "application/json"}})
        assert client.get("/api/session").status_code == 200
        assert client.get("/api/schema").status_code == 200
        file = client.get("/api/file", params={{"path": "net.yaml"}}).json()
        assert post("/api/analyse", {{"text": file["text"]}}).json()["ok"]
        assert post("/api/save", {{"path": "net.yaml", "text": file["text"], "base_version": file["version"]}}).status_code == 200
        assert client.get("/api/run").status_code == 404
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(heavy[:5])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
