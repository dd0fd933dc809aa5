"""The studio's editor API through Starlette's TestClient: session, schema, files, zoo, analyse
(whole and partial), save with versions and conflicts; paths outside the session refused."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from archspec.analysis.report import to_json_dict  # noqa: E402
from archspec.api import analyse_spec  # noqa: E402
from archspec.studio.safety import Address  # noqa: E402
from archspec.studio.server import create_app  # noqa: E402
from archspec.studio.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
# LeNet-5 whose fifth layer (Flatten) is a 7x7 convolution on its 5x5 input.
BROKEN_AT_5 = LENET.replace("  - Flatten ", "  - Conv2D: {filters: 8, kernel_size: 7}\n  # ", 1)


def client_for(path: Path) -> TestClient:
    return TestClient(create_app(Workspace.open(path), Address("127.0.0.1", PORT)), base_url=BASE)


@pytest.fixture()
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(LENET)
    return path


@pytest.fixture()
def client(spec_file: Path) -> Iterator[TestClient]:
    with client_for(spec_file) as c:
        yield c


def version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def post(client: TestClient, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, content=json.dumps(body), headers={"content-type": "application/json", **headers})


# ------------------------------------------------------------------ session, schema, files, zoo
def test_session_of_a_spec_lists_it_and_the_zoo(client: TestClient) -> None:
    body = client.get("/api/session").json()
    assert body["mode"] == "spec" and body["current"] == "net.yaml" and body["run"] is None
    assert body["files"] == [{"path": "net.yaml", "name": "net.yaml"}]
    lenet = next(z for z in body["zoo"] if z["name"] == "lenet5")
    assert lenet["params"] == 61706 and lenet["input"] == "32x32x1" and lenet["description"].startswith("LeNet-5")


def test_session_of_a_folder_lists_its_specs_only(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LENET)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(LENET)
    (tmp_path / "ci.yaml").write_text("steps: [build]\n")             # YAML, but not a spec
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.yaml").write_text(LENET)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text(LENET)
    (tmp_path / "link.yaml").symlink_to(outside)                       # would lead out of the folder
    with client_for(tmp_path) as c:
        body = c.get("/api/session").json()
        assert body["mode"] == "folder" and body["current"] is None
        assert [f["path"] for f in body["files"]] == ["a.yaml", "sub/b.yml"]
        (tmp_path / "new.yaml").write_text(LENET)                     # a spec written since appears
        assert "new.yaml" in [f["path"] for f in c.get("/api/session").json()["files"]]
        assert c.get("/api/file", params={"path": "sub/b.yml"}).json()["text"] == LENET


def test_schema_is_the_published_one(client: TestClient) -> None:
    from archspec.spec.schema import published_schema

    assert client.get("/api/schema").json() == json.loads(json.dumps(published_schema()))


def test_file_gives_text_and_version(client: TestClient, spec_file: Path) -> None:
    body = client.get("/api/file", params={"path": "net.yaml"}).json()
    assert body == {"path": "net.yaml", "text": LENET, "version": version(spec_file)}


@pytest.mark.parametrize("path", ["../outside.yaml", "/etc/passwd", "sub/../net.yaml", "./net.yaml", "", "NET.yaml"])
def test_a_path_outside_the_session_is_refused(client: TestClient, spec_file: Path, path: str) -> None:
    (spec_file.parent.parent / "outside.yaml").write_text(LENET)
    response = client.get("/api/file", params={"path": path})
    assert response.status_code == 404 and "not a file of this session" in response.json()["error"]
    saved = post(client, "/api/save", {"path": path, "text": "x", "base_version": None, "force": True})
    assert saved.status_code == 404
    assert (spec_file.parent.parent / "outside.yaml").read_text() == LENET and spec_file.read_text() == LENET


def test_zoo_spec_text_and_unknown_name(client: TestClient) -> None:
    assert client.get("/api/zoo/lenet5").json() == {"name": "lenet5", "text": LENET}
    missing = client.get("/api/zoo/lenet")
    assert missing.status_code == 404 and "no zoo spec named 'lenet'" in missing.json()["error"]
    assert client.get("/api/zoo/..%2F..%2Fpyproject").status_code == 404


# ------------------------------------------------------------------ analyse
def test_analyse_gives_the_summary_json_explain_and_graph(client: TestClient) -> None:
    body = post(client, "/api/analyse", {"text": LENET, "path": "net.yaml"}).json()
    assert body["ok"] is True and body["partial"] is False and body["errors"] == []
    assert body["summary"] == json.loads(json.dumps(to_json_dict(analyse_spec("net.yaml", text=LENET))))
    assert body["summary"]["total_params"] == 61706
    assert body["explain"]["c1"][:2] == ["H' = W' = floor((H - K + 2P) / S) + 1 = floor((32 - 5 + 2*0) / 1) + 1 = 28",
                                         "params = K_h*K_w*C_in*C_out + C_out = 5*5*1*6 + 6 = 156"]
    assert set(body["explain"]) == {layer["name"] for layer in body["summary"]["layers"]}
    assert "<svg" in body["graph_svg"] and "c3" in body["graph_svg"]
    assert isinstance(body["elapsed_ms"], float) and body["elapsed_ms"] > 0


def test_analyse_of_a_spec_broken_at_layer_5_shows_the_four_before(client: TestClient) -> None:
    body = post(client, "/api/analyse", {"text": BROKEN_AT_5, "path": "net.yaml"}).json()
    assert body["ok"] is False and body["partial"] is True
    summary = body["summary"]
    assert [layer["name"] for layer in summary["layers"]] == ["c1", "s2", "c3", "s4"]
    assert summary["total_params"] == 156 + 2416 and summary["output_shapes"] == [[5, 5, 16]]
    [error] = body["errors"]
    line = BROKEN_AT_5.splitlines().index("  - Conv2D: {filters: 8, kernel_size: 7}") + 1
    col = BROKEN_AT_5.splitlines()[line - 1].index("7}") + 1
    assert (error["line"], error["col"], error["end_line"], error["end_col"]) == (line, col, line, col + 1)
    assert error["message"].startswith("Conv2D 'conv2d_1': output height would be")
    assert error["stage"] == "shapes" and error["severity"] == "error" and error["hint"]
    assert set(body["explain"]) == {"c1", "s2", "c3", "s4"} and "<svg" in body["graph_svg"]


def test_analyse_of_text_that_is_not_a_spec_has_no_summary(client: TestClient) -> None:
    body = post(client, "/api/analyse", {"text": "just words", "path": "net.yaml"}).json()
    assert body["ok"] is False and body["summary"] is None and "graph_svg" not in body and body["explain"] == {}
    assert body["errors"][0]["line"] == 1 and body["errors"][0]["stage"] == "structure"


def test_analyse_reports_warnings_with_their_place(client: TestClient) -> None:
    text = ("archspec: 1\nname: w\ninput: [16, 16, 3]\nlayers:\n"
            "  - Conv2DTranspose: {filters: 4, kernel_size: 3, dilation_rate: 2}\n")
    body = post(client, "/api/analyse", {"text": text, "path": "net.yaml"}).json()
    assert body["ok"] is True
    [warning] = body["errors"]
    assert warning["severity"] == "warning" and warning["line"] == 5 and warning["message"]


@pytest.mark.parametrize("body, status", [({"path": "net.yaml"}, 400), ({"text": 3}, 400), ([1, 2], 400)])
def test_analyse_refuses_bodies_without_text(client: TestClient, body: Any, status: int) -> None:
    response = post(client, "/api/analyse", body)
    assert response.status_code == status and response.json()["error"]


def test_analyse_refuses_a_body_that_is_not_json(client: TestClient) -> None:
    response = client.post("/api/analyse", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    response = post(client, "/api/analyse", {"text": "#" * (3 * 1024 * 1024)})
    assert response.status_code == 413


# ------------------------------------------------------------------ save
def test_save_writes_atomically_and_returns_the_new_version(client: TestClient, spec_file: Path) -> None:
    old = client.get("/api/file", params={"path": "net.yaml"}).json()["version"]
    new_text = LENET.replace("units: 84", "units: 80")
    body = post(client, "/api/save", {"path": "net.yaml", "text": new_text, "base_version": old, "force": False}).json()
    assert spec_file.read_text() == new_text and body == {"version": version(spec_file)}
    assert [p.name for p in spec_file.parent.iterdir()] == ["net.yaml"]  # no temporary file left


def test_save_after_the_disk_changed_is_a_conflict_with_the_disk_text(client: TestClient, spec_file: Path) -> None:
    old = client.get("/api/file", params={"path": "net.yaml"}).json()["version"]
    spec_file.write_text(LENET + "# edited elsewhere\n")
    response = post(client, "/api/save", {"path": "net.yaml", "text": "mine", "base_version": old})
    assert response.status_code == 409
    body = response.json()
    assert body["conflict"] is True and body["disk_text"] == LENET + "# edited elsewhere\n"
    assert body["version"] == version(spec_file) and spec_file.read_text() == LENET + "# edited elsewhere\n"
    forced = post(client, "/api/save", {"path": "net.yaml", "text": "mine", "base_version": old, "force": True})
    assert forced.status_code == 200 and spec_file.read_text() == "mine"
    again = post(client, "/api/save", {"path": "net.yaml", "text": "again", "base_version": forced.json()["version"]})
    assert again.status_code == 200 and spec_file.read_text() == "again"


def test_save_of_a_deleted_file_is_a_conflict_with_no_version(client: TestClient, spec_file: Path) -> None:
    old = version(spec_file)
    spec_file.unlink()
    response = post(client, "/api/save", {"path": "net.yaml", "text": "mine", "base_version": old})
    assert response.status_code == 409 and response.json()["version"] is None and not spec_file.exists()


def test_analyse_gives_only_the_parts_asked_for(client: TestClient) -> None:
    body = post(client, "/api/analyse", {"text": LENET, "path": "net.yaml", "parts": ["summary"]}).json()
    assert body["summary"]["total_params"] == 61706 and "graph_svg" not in body and "explain" not in body
    assert set(body) == {"ok", "partial", "errors", "summary", "elapsed_ms"}
    wrong = post(client, "/api/analyse", {"text": LENET, "parts": ["table"]})
    assert wrong.status_code == 400 and "'parts' must be a list" in wrong.json()["error"]
