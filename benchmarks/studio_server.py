"""The studio's server-side analysis time per request for specs/resnet50.yaml.

    python benchmarks/studio_server.py [--requests 50]

Each request is a ``POST /api/analyse`` through Starlette's TestClient (the app, its guard,
the worker thread, the analysis process and the JSON encoding, no network), with the text of
one keystroke-like edit (the stem's filter count changes, so every shape after it is
recomputed and nothing is served from an earlier request's result; six edits in seven break
the stem's ``expect:``, so the table is the partial analysis, as while the user types the
browser benchmark's ``filters: 6``). Printed: p50 and p95 of the wall time per request over
``--requests`` requests, for the whole response (summary, explain lines and the graph's SVG)
and for the table alone (``parts: ["summary"]``, what the page asks first while the user
types), the server's own ``elapsed_ms``, and the CPU time of the same analyses and their JSON
run in this process (what the analysis would take on an idle core: the shared CI machine is
often busy). Target: p95 under 100 ms. The browser's keystroke-to-table
latency is ``studio_latency.py``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Optional

from starlette.testclient import TestClient

from archspec.studio.analysis_view import PARTS, analyse_response
from archspec.studio.safety import Address
from archspec.studio.server import create_app
from archspec.studio.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "resnet50.yaml"
STEM = "{filters: 64, kernel_size: 7, strides: 2, padding: 3}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def edited(text: str, i: int) -> str:
    return text.replace(STEM, STEM.replace("filters: 64", f"filters: {64 + i % 7}"))


def measure(client: TestClient, text: str, requests: int, parts: Optional[list[str]]) -> dict[str, Any]:
    walls, server = [], []
    for i in range(requests + 3):  # three to warm up
        body = {"text": edited(text, i), "path": "resnet50.yaml", **({"parts": parts} if parts else {})}
        started = time.perf_counter()
        response = client.post("/api/analyse", content=json.dumps(body), headers={"content-type": "application/json"})
        wall = (time.perf_counter() - started) * 1000
        answer = response.json()
        assert response.status_code == 200 and answer["summary"]["layers"], answer.get("errors")
        if i >= 3:
            walls.append(wall)
            server.append(answer["elapsed_ms"])
    cpus = []
    for i in range(requests + 3):  # the same analyses and their JSON in this process, timed by its CPU clock
        cpu = time.process_time()
        json.dumps(analyse_response(edited(text, i), "resnet50.yaml", parts or PARTS), ensure_ascii=False,
                   separators=(",", ":"))
        if i >= 3:
            cpus.append((time.process_time() - cpu) * 1000)
    return {"p50": percentile(walls, 0.5), "p95": percentile(walls, 0.95), "cpu_p50": statistics.median(cpus),
            "cpu_p95": percentile(cpus, 0.95), "server_p50": statistics.median(server),
            "server_p95": percentile(server, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    requests = parser.parse_args().requests
    text = SPEC.read_text()
    with TestClient(create_app(Workspace.open(SPEC), Address("127.0.0.1", 8765)),
                    base_url="http://127.0.0.1:8765") as client:
        for label, parts in (("whole response (summary, explain, graph SVG)", None), ("table only", ["summary"])):
            r = measure(client, text, requests, parts)
            print(f"{label}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms per request over {requests} requests "
                  f"(analysis in the server: p50 {r['server_p50']:.1f} ms, p95 {r['server_p95']:.1f} ms; CPU time "
                  f"of the analysis and its JSON: p50 {r['cpu_p50']:.1f} ms, p95 {r['cpu_p95']:.1f} ms)")


if __name__ == "__main__":
    main()
