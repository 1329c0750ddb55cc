"""The built Vue console (``console/dist``) at ``/``, as a single-page app.

Only requests that no route matched reach it, so ``/api`` and the relay are untouched, and
unknown ``/api`` or ``/v1`` paths keep their JSON 404. Of the rest, ``GET``/``HEAD`` of a file in
the build is that file; any other path is ``index.html`` (the console's router reads the URL).
Files under ``/assets/`` carry a content hash in their names and are cached for a year;
``index.html`` is revalidated every time, so a new build is seen at once. The build writes a
gzip copy next to each large asset, sent to callers that accept gzip.

Without a build, ``/`` answers with a short page that says how to make one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quart import Quart, Response, current_app, request, send_file
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

EXTENSION = "newapi.console"
DEFAULT_DIST = Path(__file__).resolve().parents[1] / "console" / "dist"
# Paths the server owns: an unknown one is a JSON 404, never the console.
_SERVER_PREFIXES = ("/api", "/v1", "/v1beta", "/dashboard")
HASHED_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "no-cache"
_ASSETS = "/assets/"

MISSING_BUILD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newapi: console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The web console is not built</h1>
<p>newapi is running: the admin API is at <code>/api</code> and the relay at <code>/v1</code>.
The console's files were not found in <code>{dist}</code>.</p>
<p>Build it (Node 20 and npm) and reload this page:</p>
<pre>make run                                   # builds the console when needed, then serves
# or, by hand:
cd console &amp;&amp; npm ci &amp;&amp; npm run build</pre>
</body></html>
"""


@dataclass(frozen=True, slots=True)
class Console:
    """Where the build is; read on every request, so a rebuild needs no restart."""

    dist: Path

    @property
    def index(self) -> Path:
        return self.dist / "index.html"


def install(app: Quart, dist: Path = DEFAULT_DIST) -> None:
    """Serve the console from ``dist`` for requests no route matched."""
    app.extensions[EXTENSION] = Console(dist)
    app.before_request(_serve_console)


def is_server_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in _SERVER_PREFIXES)


async def _serve_console() -> Response | None:
    """The console's answer to a request no route matched; ``None`` lets routing go on."""
    if request.method not in ("GET", "HEAD") or not isinstance(request.routing_exception, NotFound):
        return None
    path = request.path
    if is_server_path(path):
        return None
    console: Console = current_app.extensions[EXTENSION]
    file = _build_file(console.dist, path)
    if file is not None:
        return await _send(file, HASHED_CACHE if path.startswith(_ASSETS) else INDEX_CACHE)
    if path.startswith(_ASSETS):
        return None  # a missing asset is a 404, not the index page
    if not console.index.is_file():
        page = MISSING_BUILD_PAGE.format(dist=console.dist)
        return Response(page, content_type="text/html; charset=utf-8")
    return await _send(console.index, INDEX_CACHE)


def _build_file(dist: Path, path: str) -> Path | None:
    """The file of the build at ``path`` (never outside ``dist``), if there is one."""
    relative = path.lstrip("/")
    if not relative:
        return None
    joined = safe_join(str(dist), relative)
    if joined is None:
        return None
    file = Path(joined)
    return file if file.is_file() else None


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


async def _send(file: Path, cache_control: str) -> Response:
    compressed = file.with_name(file.name + ".gz")
    use_gzip = file.suffix in (".js", ".css", ".html", ".svg") and compressed.is_file()
    if use_gzip and _accepts_gzip():
        response = await send_file(compressed, mimetype=_mimetype(file), conditional=True)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = await send_file(file, mimetype=_mimetype(file), conditional=True)
    if use_gzip:
        response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = cache_control
    return response


def _mimetype(file: Path) -> str | None:
    # Python's table may lack these on slim images; browsers refuse modules with a wrong type.
    return {
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".html": "text/html",
        ".svg": "image/svg+xml",
        ".json": "application/json",
        ".woff2": "font/woff2",
    }.get(file.suffix)
