"""The studio's ASGI app: the page, its static files and the JSON API, behind the guard.

``create_app(workspace, address)`` is all a server (uvicorn, or Starlette's TestClient) needs.
Work runs in a small pool of threads with a time limit, so slow work answers 503 instead of
holding the page. The analysis of a spec's text runs in warm worker processes (one at a time
each): one that passes the time limit is killed and replaced, so repeated pathological edits
cannot pile up work (a thread cannot be stopped); the analysis itself has the CLI's limits
(layers, nesting, file size).
"""
from __future__ import annotations

import asyncio
import functools
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from archspec.errors import UserError
from archspec.studio.api_routes import ROUTES, Refused
from archspec.studio.safety import Address, Guard
from archspec.studio.workspace import Workspace

STATIC = Path(__file__).resolve().parent / "static"
WORKERS = 2              # analyses at once; a page sends one at a time, a second tab another
TIMEOUT_S = 20.0         # a request's work; the CLI's limits keep real specs far below it
STOP_WAIT_S = 5.0        # for a killed analysis process to be gone
START_S = 120.0          # for a new analysis process to be ready (imports; not counted in TIMEOUT_S)


class TooSlow(Exception):
    """An analysis passed the time limit (its process was killed)."""


class AnalysisProcess:
    """One worker process running ``analysis_view.serve_analyses``, started (spawned: no copy of
    the server's threads) before its first request; one request at a time. Spawning imports the
    program's main module again, as ``__mp_main__``: a script that creates the app does so under
    ``if __name__ == "__main__":`` (``archspec serve``, pytest and uvicorn do)."""

    def __init__(self) -> None:
        self.last_text: Optional[str] = None  # what it analysed last (and remembers)
        self.ready = False                    # its imports done (it said so)
        self._start()

    def _start(self) -> None:
        from archspec.studio.analysis_view import serve_analyses

        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve_analyses, args=(theirs,), name="archspec-analysis", daemon=True)
        self.process.start()
        theirs.close()

    def analyse(self, text: str, path: str, parts: Sequence[str], timeout_s: float) -> bytes:
        """The answer's JSON bytes; TooSlow (the process killed and replaced) past ``timeout_s``
        (counted from the request, not from the process's start)."""
        self.last_text = None
        try:
            if not self.ready:
                self.ready = self.conn.poll(START_S) and self.conn.recv()[0] == "ready"
                if not self.ready:
                    self.restart()
                    raise Refused(503, f"the studio's analysis process did not start within {START_S:g} s",
                                  "try again; if it persists, the machine is short of memory or CPU")
            self.conn.send((text, path, list(parts)))
            done = self.conn.poll(timeout_s)
            status, answer = self.conn.recv() if done else (None, None)
        except (EOFError, OSError):  # the process died (killed from outside, out of memory)
            self.restart()
            raise Refused(503, "the analysis stopped before it finished (its process ended)",
                          "try again: a new analysis process is started") from None
        if not done:
            self.restart()
            raise TooSlow()
        if status != "ok":
            raise RuntimeError(f"the analysis failed in its process:\n{answer}")
        self.last_text = text
        return answer

    def restart(self) -> None:
        self.stop()
        self.ready = False
        self._start()

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(STOP_WAIT_S)


class AnalysisPool:
    """Up to ``size`` analysis processes, shared by every app of this process (the analysis of a
    text depends on nothing else), started on first need or all at once by ``warm``."""

    def __init__(self, size: int = WORKERS) -> None:
        self.size = size
        self._idle: list[AnalysisProcess] = []   # the last used at the end
        self._count = 0
        self._ready = threading.Condition()

    def warm(self) -> None:
        with self._ready:
            while self._count < self.size:
                self._idle.insert(0, AnalysisProcess())
                self._count += 1
            self._ready.notify_all()

    def analyse(self, text: str, path: str, parts: Sequence[str], timeout_s: float) -> bytes:
        worker = self._take(text if "summary" not in parts else None)
        try:
            return worker.analyse(text, path, parts, timeout_s)
        finally:
            with self._ready:
                self._idle.append(worker)
                self._ready.notify()

    def _take(self, text: Optional[str]) -> AnalysisProcess:
        """An idle process: for the explain lines and picture of ``text``, the one that analysed it
        last (the table's request for the same text) and remembers it; else the last used (its
        memory is the warmest: one process serves a page's keystrokes, one after the other)."""
        with self._ready:
            while not self._idle and self._count >= self.size:
                self._ready.wait()
            for idle in self._idle:
                if not idle.process.is_alive():  # ended while idle (killed from outside): replaced before use
                    idle.restart()
            if not self._idle:
                worker = AnalysisProcess()
                self._count += 1
                return worker
            same = [w for w in self._idle if text is not None and w.last_text == text]
            worker = same[-1] if same else self._idle[-1]
            self._idle.remove(worker)
            return worker

    def processes(self) -> list[multiprocessing.process.BaseProcess]:
        """The idle processes (for the tests: a killed one is not among them)."""
        with self._ready:
            return [w.process for w in self._idle]


@functools.lru_cache(maxsize=1)
def analysis_pool() -> AnalysisPool:
    return AnalysisPool()


class Studio:
    """One session: its workspace, the worker threads, and what is computed once (zoo, schema, model)."""

    def __init__(self, workspace: Workspace, timeout_s: float = TIMEOUT_S) -> None:
        self.workspace = workspace
        self.timeout_s = timeout_s
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="archspec-studio")
        self._once_lock = threading.Lock()
        self._explorer: Any = None

    async def call(self, work: Callable[..., Any], *args: Any, hint: str = "make the spec smaller") -> Any:
        """``work(*args)`` in a worker thread; 503 when it takes longer than the time limit (the
        thread finishes on its own: Python cannot stop it; an analysis is stopped, see ``analyse``)."""
        future = asyncio.wrap_future(self.pool.submit(work, *args))
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except asyncio.TimeoutError:
            raise Refused(503, f"the work took more than {self.timeout_s:g} s", hint) from None

    async def explore(self, work: Callable[[Any], Any]) -> Any:
        """``work(explorer)`` under the time limit, once the run's model is loaded: loading it
        (TensorFlow's import and the model file, once per session, seconds on a busy machine) is
        not held to the limit of one request's work."""
        explorer = await asyncio.wrap_future(self.pool.submit(self.explorer))
        return await self.call(work, explorer, hint="use a smaller image, or try again when the machine is less busy")

    async def analyse(self, text: str, path: str, parts: Sequence[str]) -> bytes:
        """The body of ``POST /api/analyse`` as JSON bytes, from an analysis process that is
        killed (and replaced) when the analysis passes the time limit."""
        future = asyncio.wrap_future(self.pool.submit(analysis_pool().analyse, text, path, parts, self.timeout_s))
        try:  # the process stops the analysis at the limit; this bound only covers a process that will not start
            return await asyncio.wait_for(future, self.timeout_s + START_S)
        except (asyncio.TimeoutError, TooSlow):
            raise Refused(503, f"the work took more than {self.timeout_s:g} s", "make the spec smaller") from None

    # ------------------------------------------------------------ the editor's data
    def session_json(self) -> dict[str, Any]:
        ws = self.workspace
        files = [{"path": rel, "name": Path(rel).name} for rel in ws.files(rescan=True)]
        return {"mode": ws.mode, "files": files, "current": ws.current, "writable": ws.writable,
                "zoo": zoo_rows() if ws.mode != "run" else [],
                "run": {"folder": ws.folder.name} if ws.mode == "run" else None}

    def schema(self) -> dict[str, Any]:
        return published_schema()

    def zoo_text(self, name: str) -> str:
        from archspec.zoo import zoo_names, zoo_path

        if name not in zoo_names():  # only a listed name reaches the disk
            raise Refused(404, f"no zoo spec named {name!r}", "GET /api/session lists the zoo")
        return zoo_path(name).read_text(encoding="utf-8")

    # ------------------------------------------------------------ the explorer's
    def run_folder(self) -> Path:
        if self.workspace.mode != "run":
            raise Refused(404, "this session is not a run directory", "start archspec serve RUN_DIR")
        return self.workspace.folder

    def explorer(self) -> Any:
        """The run's model, loaded on first use (the only place Keras is imported)."""
        folder = self.run_folder()
        with self._once_lock:
            if self._explorer is None:
                from archspec.studio.explorer import Explorer

                self._explorer = Explorer.open(folder)
        return self._explorer


@functools.lru_cache(maxsize=1)
def zoo_rows() -> list[dict[str, Any]]:
    """The zoo to start from: name, description, params, input (every spec analysed once)."""
    from archspec.zoo import entries, input_text

    try:
        return [{"name": e.name, "description": e.title, "params": e.params, "input": input_text(e.inputs)}
                for e in entries()]
    except UserError:
        return []  # a wheel without the zoo


@functools.lru_cache(maxsize=1)
def published_schema() -> dict[str, Any]:
    from archspec.spec.schema import published_schema as schema

    return schema()


async def not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": f"nothing at {request.url.path}", "hint": "the page's own addresses only"}, 404)


async def index(request: Request) -> Response:
    page = STATIC / "index.html"
    if not page.is_file():
        return JSONResponse({"error": "the studio's page is not installed", "hint": "reinstall archspec"}, 404)
    return FileResponse(page, media_type="text/html")


def _load_quietly(studio: Studio) -> None:
    try:
        studio.explorer()
    except Exception:  # noqa: BLE001 - the page's first request loads it again and answers the error
        pass


def create_app(workspace: Workspace, address: Address, timeout_s: float = TIMEOUT_S,
               warm: bool = False) -> Guard:
    """The app for ``workspace``, answering only as ``address``. ``warm`` lists the zoo in the
    background and starts the analysis processes at once (for a run directory: loads its model),
    so the page's first requests do not wait for them."""
    app = Starlette(routes=[Route("/", index), *ROUTES,
                            Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")],
                    exception_handlers={404: not_found})
    app.state.studio = Studio(workspace, timeout_s)
    if warm and workspace.mode != "run":
        threading.Thread(target=zoo_rows, name="archspec-zoo", daemon=True).start()
        analysis_pool().warm()
    elif warm:  # the run's model, loaded while the page opens (a failure is answered to the page's request)
        threading.Thread(target=_load_quietly, args=(app.state.studio,), name="archspec-model", daemon=True).start()
    return Guard(app, address)

