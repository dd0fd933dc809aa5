"""The studio's ASGI app: the page, its static files and the JSON API, behind the guard.

``create_app(workspace, address)`` is all a server (uvicorn, or Starlette's TestClient) needs.
Work runs in a small pool of threads with a time limit, so a slow analysis answers 503 instead
of holding the page; the analysis itself has the CLI's limits (layers, nesting, file size).
"""
from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

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


class Studio:
    """One session: its workspace, the worker threads, and what is computed once (zoo, schema, model)."""

    def __init__(self, workspace: Workspace, timeout_s: float = TIMEOUT_S) -> None:
        self.workspace = workspace
        self.timeout_s = timeout_s
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="archspec-studio")
        self._once_lock = threading.Lock()
        self._explorer: Any = None

    async def call(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` in a worker thread; 503 when it takes longer than the time limit (the
        thread finishes on its own: Python cannot stop it)."""
        future = asyncio.wrap_future(self.pool.submit(work, *args))
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except asyncio.TimeoutError:
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


def create_app(workspace: Workspace, address: Address, timeout_s: float = TIMEOUT_S,
               warm: bool = False) -> Guard:
    """The app for ``workspace``, answering only as ``address``. ``warm`` lists the zoo in the
    background at once, so the page's first request does not wait for it."""
    app = Starlette(routes=[Route("/", index), *ROUTES,
                            Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")],
                    exception_handlers={404: not_found})
    app.state.studio = Studio(workspace, timeout_s)
    if warm and workspace.mode != "run":
        threading.Thread(target=zoo_rows, name="archspec-zoo", daemon=True).start()
    return Guard(app, address)

