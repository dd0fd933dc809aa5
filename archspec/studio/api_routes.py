"""The JSON API of the studio (the contract is in the page's ``api.js`` and the issue's text).

Every handler reads the session from ``request.app.state.studio`` (a ``server.Studio``), runs
the work in the studio's worker threads with a time limit, and answers JSON; a user's mistake
is a 4xx answer ``{"error", "hint"}``, never a traceback. Nothing here imports Keras: the
explorer's routes import ``explorer`` when first called.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from archspec.errors import ArchspecError
from archspec.studio.workspace import MAX_TEXT_BYTES, Conflict, NotInSession

if TYPE_CHECKING:
    from archspec.studio.server import Studio

MAX_SPEC_BODY = MAX_TEXT_BYTES + 64 * 1024        # the text, its path and the JSON around them
MAX_IMAGE_BODY = 10 * 1024 * 1024                 # a drawn or dropped image as a data URL


class Refused(Exception):
    """A request answered with ``status`` and a message (never a server error)."""

    def __init__(self, status: int, error: str, hint: str = "", **extra: Any) -> None:
        super().__init__(error)
        self.status, self.error, self.hint, self.extra = status, error, hint, extra


def studio(request: Request) -> Studio:
    return request.app.state.studio


def answer(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A handler whose Refused and archspec errors become JSON answers."""
    async def run(request: Request) -> Response:
        try:
            result = await handler(request)
            return result if isinstance(result, Response) else JSONResponse(result)
        except Refused as exc:
            return JSONResponse({"error": exc.error, "hint": exc.hint, **exc.extra}, status_code=exc.status)
        except NotInSession as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint or ""}, status_code=404)
        except ArchspecError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint or ""}, status_code=400)
    run.__name__ = handler.__name__
    return run


async def json_body(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object, read no further than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the request is {int(declared):,} bytes, more than the {limit:,} allowed here")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the request is more than the {limit:,} bytes allowed here")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"the body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, required: bool = True) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"'{name}' must be a string", f"send {{\"{name}\": \"...\"}}")
    return value


# ------------------------------------------------------------------ the editor
@answer
async def session(request: Request) -> dict[str, Any]:
    return await studio(request).call(studio(request).session_json)


@answer
async def schema(request: Request) -> dict[str, Any]:
    return await studio(request).call(studio(request).schema)


@answer
async def read_file(request: Request) -> dict[str, Any]:
    found = await studio(request).call(studio(request).workspace.read, request.query_params.get("path"))
    return {"path": found.path, "text": found.text, "version": found.version}


@answer
async def zoo_spec(request: Request) -> dict[str, Any]:
    name = request.path_params["name"]
    return {"name": name, "text": await studio(request).call(studio(request).zoo_text, name)}


@answer
async def analyse(request: Request) -> Response:
    from archspec.studio.analysis_view import PARTS

    body = await json_body(request, MAX_SPEC_BODY)
    text = text_field(body, "text")
    path = text_field(body, "path", required=False) or studio(request).workspace.current or "<studio>"
    parts = body.get("parts", list(PARTS))
    if not isinstance(parts, list) or any(p not in PARTS for p in parts):
        raise Refused(400, "'parts' must be a list of " + ", ".join(PARTS), "leave it out for all of them")
    return Response(await studio(request).analyse(text, path, parts), media_type="application/json")


@answer
async def save(request: Request) -> dict[str, Any]:
    body = await json_body(request, MAX_SPEC_BODY)
    path, text = text_field(body, "path"), text_field(body, "text")
    base = text_field(body, "base_version", required=False)
    saved = await studio(request).call(studio(request).workspace.save, path, text, base, body.get("force") is True)
    if isinstance(saved, Conflict):
        raise Refused(409, "the file changed on disk since it was opened", "reload it, or save again with force",
                      conflict=True, disk_text=saved.disk_text, version=saved.version)
    return {"version": saved}


# ------------------------------------------------------------------ the explorer (mode run)
@answer
async def run_info(request: Request) -> dict[str, Any]:
    return await studio(request).explore(lambda explorer: explorer.run_json())


@answer
async def predict(request: Request) -> dict[str, Any]:
    body = await json_body(request, MAX_IMAGE_BODY)
    image = text_field(body, "image")
    return await studio(request).explore(lambda explorer: explorer.predict_json(image))


@answer
async def history(request: Request) -> dict[str, Any]:
    from archspec.studio.history import history_json

    run = studio(request).run_folder()
    return await studio(request).call(history_json, run / "history.csv")


ROUTES = [Route("/api/session", session), Route("/api/schema", schema), Route("/api/file", read_file),
          Route("/api/zoo/{name}", zoo_spec), Route("/api/analyse", analyse, methods=["POST"]),
          Route("/api/save", save, methods=["POST"]), Route("/api/run", run_info),
          Route("/api/predict", predict, methods=["POST"]), Route("/api/history", history)]
