"""newapi/console.py: the built console at ``/``, single-page fallback, caching, JSON 404s kept."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from newapi import console
from newapi.app import create_app
from newapi.config import load_settings

INDEX = "<!doctype html><title>console</title><script src='/assets/index-abc123.js'></script>"
SCRIPT = "console.log('" + "x" * 2000 + "')"


@pytest.fixture(scope="module")
def app() -> Quart:
    # One app per process: the relay's blueprints register once.
    return create_app(load_settings({"SESSION_SECRET": "console-test-secret-0123456789"}))


def _serving(app: Quart, dist: Path) -> Quart:
    app.extensions[console.EXTENSION] = console.Console(dist)
    return app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    build = tmp_path / "dist"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text(INDEX)
    (build / "assets" / "index-abc123.js").write_text(SCRIPT)
    (build / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT.encode()))
    (build / "favicon.svg").write_text("<svg/>")
    return build


@pytest.fixture
async def client(app: Quart, dist: Path) -> AsyncIterator[object]:
    yield _serving(app, dist).test_client()


@pytest.mark.parametrize("path", ["/", "/console", "/console/channel", "/login", "/a/b/c?x=1"])
async def test_pages_get_the_index_revalidated(client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == INDEX
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype == "text/html"


async def test_hashed_assets_are_cached_for_a_year_and_sent_gzipped(client) -> None:
    plain = await client.get("/assets/index-abc123.js")
    assert plain.status_code == 200
    assert await plain.get_data(as_text=True) == SCRIPT
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.mimetype == "text/javascript"
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"

    zipped = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await zipped.get_data()) == SCRIPT.encode()


async def test_other_build_files_are_served_but_not_cached_forever(client) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_index(client) -> None:
    response = await client.get("/assets/gone-123.js")
    assert response.status_code == 404
    assert (await response.get_json())["success"] is False


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api", "/v1/nope", "/v1", "/v1beta/x", "/dashboard/x"]
)
async def test_unknown_server_paths_keep_their_json_404(client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    body = await response.get_json()
    assert body is not None, path
    assert INDEX not in await response.get_data(as_text=True)


async def test_routes_are_untouched(client) -> None:
    response = await client.get("/api/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404
    # A POST to a page path is no page load: it gets the JSON 404, not the index.
    response = await client.post("/console/channel")
    assert response.status_code == 404
    assert (await response.get_json())["success"] is False


async def test_paths_cannot_escape_the_build(client, dist: Path) -> None:
    (dist.parent / "secret.txt").write_text("outside-the-build")
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        response = await client.get(path)
        assert "outside-the-build" not in await response.get_data(as_text=True), path


async def test_without_a_build_the_root_says_how_to_build_it(app: Quart, tmp_path: Path) -> None:
    client = _serving(app, tmp_path / "missing").test_client()
    response = await client.get("/")
    assert response.status_code == 200
    text = await response.get_data(as_text=True)
    assert "npm ci" in text and "make run" in text
    assert str(tmp_path / "missing") in text
    api = await client.get("/api/nope")
    assert api.status_code == 404


async def test_the_console_dir_can_move(start_gateway, dist: Path) -> None:  # type: ignore[no-untyped-def]
    """NEWAPI_CONSOLE_DIR points a packaged install (the Docker image) at its build."""
    import aiohttp

    gateway = await start_gateway(NEWAPI_CONSOLE_DIR=str(dist))
    async with aiohttp.ClientSession() as http:
        async with http.get(gateway.url + "/console/channel") as resp:
            assert resp.status == 200 and await resp.text() == INDEX
        async with http.get(gateway.url + "/api/status") as resp:
            assert (await resp.json())["success"] is True
