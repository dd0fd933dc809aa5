"""The studio's analysis runs in warm worker processes: one that passes the time limit is killed
and replaced (a thread could not be stopped), so pathological edits neither hang the server nor
leave work running, and the next request is served by a fresh process."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from archspec.studio.safety import Address  # noqa: E402
from archspec.studio.server import WORKERS, analysis_pool, create_app  # noqa: E402
from archspec.studio.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
PORT = 8765
LIMIT_S = 1.5  # LeNet-5 analyses in milliseconds; the spec below takes many seconds
# 99,000 layers, within the CLI's 100,000: lowering, shapes and the picture take far past the limit.
PATHOLOGICAL = "archspec: 1\nname: huge\ninput: [4]\nlayers:\n  - Dense: {units: 4}\n    repeat: 99000\n"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("timeout") / "net.yaml"
    path.write_text(LENET)
    app = create_app(Workspace.open(path), Address("127.0.0.1", PORT), timeout_s=LIMIT_S)
    with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as c:
        yield c


def analyse(client: TestClient, text: str) -> Any:
    return client.post("/api/analyse", content=json.dumps({"text": text, "path": "net.yaml"}),
                       headers={"content-type": "application/json"})


def analysis_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "archspec-analysis"]


def test_a_pathological_edit_is_refused_its_process_killed_and_the_next_edit_served(client: TestClient) -> None:
    assert analyse(client, LENET).json()["summary"]["total_params"] == 61706  # a process is warm
    before = analysis_pool().processes()
    for _ in range(2):  # repeated pathological edits, as a user who keeps typing into one
        refused = analyse(client, PATHOLOGICAL)
        assert refused.status_code == 503
        assert refused.json() == {"error": f"the work took more than {LIMIT_S:g} s", "hint": "make the spec smaller"}
    killed = [p for p in before if p not in analysis_pool().processes()]
    assert killed and all(not p.is_alive() and p.exitcode == -signal.SIGKILL for p in killed)
    assert len(analysis_processes()) <= WORKERS  # replaced, not piled up
    served = analyse(client, LENET)
    assert served.status_code == 200 and served.json()["summary"]["total_params"] == 61706


def test_an_idle_analysis_process_that_died_is_replaced_before_it_is_used(client: TestClient) -> None:
    assert analyse(client, LENET).status_code == 200
    dead = analysis_pool().processes()
    for process in dead:
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
    served = analyse(client, LENET.replace("units: 84", "units: 80"))
    assert served.status_code == 200 and served.json()["summary"]["total_params"] == 61706 - 4 * (120 + 10 + 1)
    assert not set(dead) & set(analysis_pool().processes())


def test_the_analysis_process_never_imports_tensorflow() -> None:
    # What the process runs (serve_analyses: analyse_json for every part), in a fresh interpreter.
    script = textwrap.dedent(f"""
        import json, sys
        from archspec.studio.analysis_view import analyse_json
        body = json.loads(analyse_json({LENET!r}, "net.yaml"))
        assert body["ok"] and body["explain"] and body["graph_svg"]
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "starlette"))[:5])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_loading_the_runs_model_is_not_held_to_one_requests_limit(tmp_path: Path) -> None:
    """The explorer's first request loads TensorFlow and the model (seconds on a busy machine):
    that load is waited for, and only the request's own work has the limit, with a hint about
    the image and the machine rather than the spec."""
    import asyncio
    import time

    from archspec.studio.api_routes import Refused
    from archspec.studio.server import Studio

    (tmp_path / "train_config.json").write_text("{}")
    studio = Studio(Workspace.open(tmp_path), timeout_s=0.2)

    class Slow:
        def run_json(self) -> dict:
            return {"task": "classification"}

        def predict_json(self) -> dict:
            time.sleep(1.0)
            return {}

    def load() -> Slow:
        time.sleep(0.6)  # longer than the limit
        return Slow()

    studio.explorer = load  # type: ignore[method-assign]
    assert asyncio.run(studio.explore(lambda explorer: explorer.run_json())) == {"task": "classification"}
    with pytest.raises(Refused) as slow:
        asyncio.run(studio.explore(lambda explorer: explorer.predict_json()))
    assert slow.value.status == 503 and "smaller image" in slow.value.hint
