"""The fake providers' server: one aiohttp app on a loopback port, shared by tests and bench/.

Routes (all on one port):

- OpenAI: ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``,
  ``/v1/moderations``; ``GET /v1/models`` (Anthropic's list shape when the request carries
  ``anthropic-version``).
- Azure: ``POST /openai/deployments/{deployment}/chat/completions|completions|embeddings``
  (``?api-version=`` required) and the v1 API ``/openai/v1/chat/completions|embeddings``.
- Anthropic: ``POST /v1/messages``, ``/v1/messages/count_tokens``.
- Responses, audio and images (:mod:`bench.fakes.media`): ``POST /v1/responses``,
  ``/v1/responses/compact``,
  ``/v1/audio/speech``, ``/v1/audio/transcriptions`` and ``/translations`` (multipart),
  ``/v1/images/generations``, ``/v1/images/edits`` (multipart); on Azure the deployment paths
  of the audio and image routes, the v1 API's ``/openai/v1/responses`` and the preview
  ``/openai/responses?api-version=``.
- Realtime websockets (:mod:`bench.fakes.realtime`): ``GET /v1/realtime``, Azure's
  ``/openai/realtime`` and ``/openai/v1/realtime``; scripted with ``fake.realtime``.
- Gemini (:mod:`bench.fakes.gemini`), ``{v}`` = ``v1beta`` or ``v1``: ``POST
  /{v}/models/{model}:generateContent``, ``:streamGenerateContent`` (``?alt=sse`` for SSE, else
  a streamed JSON array), ``:countTokens``, ``:embedContent``, ``:batchEmbedContents``;
  ``GET /{v}/models`` (paged) and ``/{v}/models/{model}``. Key: ``x-goog-api-key`` or ``?key=``.
- Vertex AI (:mod:`bench.fakes.vertex`), ``{v}`` = ``v1`` or ``v1beta1``: ``POST
  /{v}/projects/{project}/locations/{location}/publishers/google/models/{model}:`` the
  generate/stream/countTokens methods, ``.../publishers/anthropic/models/{model}:rawPredict``
  and ``:streamRawPredict``, all with a Bearer token from ``POST /token`` (the OAuth
  JWT-bearer grant, scripted with ``fake.vertex``); express mode ``POST
  /{v}/publishers/google/models/{model}:generateContent|streamGenerateContent`` with an API key.

Each request is recorded (unless ``record=False``), then answered from the :class:`Scenario`
chosen by its API key: ``fake.keys[key]``, else a magic ``...fail-<status>...`` key, else
``fake.scenario`` (on Vertex's project paths the key is the token's service account
``client_email``). Checks a real provider makes come first: a missing key is a 401 (Gemini: 403),
a missing ``anthropic-version`` or required body field a 400, a missing Azure ``api-version`` a
404, a multipart route called without a ``multipart/form-data`` body a 400, a Gemini body Google
would refuse (:mod:`bench.fakes.google_checks`) a 400.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from bench.fakes import anthropic, gemini, media, openai, openai_extras, realtime, vertex
from bench.fakes.call import GOOGLE, Call, Provider, drop_connection
from bench.fakes.errors import GoogleError, error_response
from bench.fakes.google_checks import google_key, missing_key
from bench.fakes.realtime import RealtimeFake
from bench.fakes.scenario import FakeError, Scenario
from bench.fakes.vertex import VertexFake

Handler = Callable[[Call], Awaitable[web.StreamResponse]]
Check = Callable[[Call], FakeError | None]

_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str]  # case-insensitive
    # Parsed JSON (None when the body was empty or not JSON); on multipart routes the form,
    # files as media.UploadedFile (None when the body was not multipart).
    body: Any
    raw: bytes
    api_key: str
    provider: Provider
    # The path's variables: deployment; Google's version, model and method; Vertex's project,
    # location and publisher.
    path_params: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def model(self) -> str | None:
        """The body's model, else the model in a Google path."""
        model = self.json.get("model") or self.path_params.get("model")
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        method = self.path_params.get("method", "")
        return self.json.get("stream") is True or method.startswith("stream")

    @property
    def project(self) -> str | None:
        """Vertex AI: the project in the path (None on other routes and express mode)."""
        return self.path_params.get("project")

    @property
    def location(self) -> str | None:
        """Vertex AI: the region (``us-central1``, ``global``...) in the path."""
        return self.path_params.get("location")

    @property
    def publisher(self) -> str | None:
        """Vertex AI: ``google`` or ``anthropic``."""
        return self.path_params.get("publisher")


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: str
    provider: Provider | None  # None: Anthropic when called with anthropic-version, else OpenAI
    handler: Handler
    required: tuple[str, ...] = ()
    form: bool = False  # the body is multipart/form-data, not JSON
    check: Check | None = None  # the body checks of a Google route


_DEPLOYMENT = "/openai/deployments/{deployment}"
_GEMINI = "/{version:v1beta|v1}/models/{model:[^/:]+}"
_VERTEX_VERSION = "/{version:v1|v1beta1}"
_VERTEX = _VERTEX_VERSION + "/projects/{project}/locations/{location}/publishers"
_GOOGLE_MODEL = "/{publisher:google}/models/{model:[^/:]+}"
_EXPRESS = _VERTEX_VERSION + "/publishers" + _GOOGLE_MODEL
_ANTHROPIC_MODEL = "/{publisher:anthropic}/models/{model:[^/:]+}"


_GOOGLE_METHODS: dict[str, tuple[Handler, Check]] = {
    "generateContent": (gemini.generate, gemini.check_generate),
    "streamGenerateContent": (gemini.generate, gemini.check_generate),
    "countTokens": (gemini.count_tokens, gemini.check_count),
    "embedContent": (gemini.embed, gemini.check_embed),
    "batchEmbedContents": (gemini.batch_embed, gemini.check_batch_embed),
}


def _google_routes(prefix: str, provider: Provider, methods: tuple[str, ...]) -> list[_Route]:
    """One route per ``prefix:method``; the method is a path variable (``Call.stream``)."""
    routes = []
    for method in methods:
        handler, check = _GOOGLE_METHODS[method]
        path = f"{prefix}:{{method:{method}}}"
        routes.append(_Route("POST", path, provider, handler, check=check))
    return routes


_GENERATE = ("generateContent", "streamGenerateContent")
GOOGLE_ROUTES = (
    *_google_routes(
        _GEMINI, "gemini", (*_GENERATE, "countTokens", "embedContent", "batchEmbedContents")
    ),
    _Route("GET", "/v1beta/models", "gemini", gemini.list_models),
    _Route("GET", _GEMINI, "gemini", gemini.get_model),
    *_google_routes(_VERTEX + _GOOGLE_MODEL, "vertex", (*_GENERATE, "countTokens")),
    *_google_routes(_EXPRESS, "vertex", _GENERATE),
    *(
        _Route(
            "POST",
            f"{_VERTEX}{_ANTHROPIC_MODEL}:{{method:{method}}}",
            "vertex-anthropic",
            anthropic.messages,
            check=vertex.check_anthropic,
        )
        for method in ("rawPredict", "streamRawPredict")
    ),
)


async def _models(call: Call) -> web.StreamResponse:
    """GET /v1/models in the caller's format (OpenAI, Anthropic or Gemini)."""
    if call.provider == "gemini":
        return await gemini.list_models(call)
    return await openai_extras.models(call)


ROUTES = (
    _Route("POST", "/v1/chat/completions", "openai", openai.chat, ("model", "messages")),
    _Route("POST", "/v1/completions", "openai", openai.completions, ("model", "prompt")),
    _Route("POST", "/v1/embeddings", "openai", openai_extras.embeddings, ("model", "input")),
    _Route("POST", "/v1/moderations", "openai", openai_extras.moderations, ("input",)),
    _Route("GET", "/v1/models", None, _models),
    _Route("POST", f"{_DEPLOYMENT}/chat/completions", "azure", openai.chat, ("messages",)),
    _Route("POST", f"{_DEPLOYMENT}/completions", "azure", openai.completions, ("prompt",)),
    _Route("POST", f"{_DEPLOYMENT}/embeddings", "azure", openai_extras.embeddings, ("input",)),
    _Route("POST", "/openai/v1/chat/completions", "azure", openai.chat, ("model", "messages")),
    _Route("POST", "/openai/v1/embeddings", "azure", openai_extras.embeddings, ("model", "input")),
    _Route(
        "POST", "/v1/messages", "anthropic", anthropic.messages, ("model", "messages", "max_tokens")
    ),
    _Route(
        "POST",
        "/v1/messages/count_tokens",
        "anthropic",
        anthropic.count_tokens,
        ("model", "messages"),
    ),
    _Route("POST", "/v1/responses", "openai", media.responses, ("model",)),
    _Route("POST", "/v1/responses/compact", "openai", media.compact, ("model",)),
    _Route("POST", "/openai/v1/responses", "azure", media.responses, ("model",)),
    # Azure's preview Responses API: the deployment is the body's model, api-version required.
    _Route("POST", "/openai/responses", "azure", media.responses, ("model",)),
    _Route("POST", "/v1/audio/speech", "openai", media.speech, ("model", "input", "voice")),
    _Route("POST", f"{_DEPLOYMENT}/audio/speech", "azure", media.speech, ("input", "voice")),
    _Route(
        "POST", "/v1/audio/transcriptions", "openai", media.transcriptions, ("model",), form=True
    ),
    _Route("POST", f"{_DEPLOYMENT}/audio/transcriptions", "azure", media.transcriptions, form=True),
    _Route("POST", "/v1/audio/translations", "openai", media.translations, ("model",), form=True),
    _Route("POST", f"{_DEPLOYMENT}/audio/translations", "azure", media.translations, form=True),
    _Route("POST", "/v1/images/generations", "openai", media.image_generations, ("prompt",)),
    _Route(
        "POST", f"{_DEPLOYMENT}/images/generations", "azure", media.image_generations, ("prompt",)
    ),
    _Route("POST", "/v1/images/edits", "openai", media.image_edits, ("prompt",), form=True),
    _Route("POST", "/v1/realtime/sessions", "openai", realtime.sessions, ("model",)),
    _Route("POST", "/v1/realtime/client_secrets", "openai", realtime.client_secrets),
    _Route("POST", "/openai/v1/realtime/client_secrets", "azure", realtime.client_secrets),
    _Route(
        "POST", f"{_DEPLOYMENT}/images/edits", "azure", media.image_edits, ("prompt",), form=True
    ),
    *GOOGLE_ROUTES,
)


def api_key(headers: Mapping[str, str], provider: Provider) -> str:
    """The key as the provider reads it: ``x-api-key``/``api-key``, else a Bearer token."""
    header = {"anthropic": "x-api-key", "azure": "api-key"}.get(provider)
    if header and headers.get(header):
        return headers[header]
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _provider(route: _Route, request: web.Request) -> Provider:
    if route.provider is not None:
        return route.provider
    if "anthropic-version" in request.headers:
        return "anthropic"
    return "gemini" if google_key(request) else "openai"


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _missing_key(provider: Provider) -> FakeError:
    if provider == "anthropic":
        return FakeError(401, "x-api-key header is required")
    if provider == "azure":
        return FakeError(401)
    return FakeError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
        "field (with blank username) if you're accessing the API from your browser and are "
        "prompted for a username and password. You can obtain an API key from "
        "https://platform.openai.com/account/api-keys.",
    )


def _bad_body(call: Call, route: _Route, body: Any) -> FakeError | None:
    if route.method != "POST":
        return None
    anthropic_style = call.provider == "anthropic"
    if route.form and not isinstance(body, dict):
        return media.form_error(call)
    if not isinstance(body, dict):
        if anthropic_style:
            return FakeError(400, "There was an error parsing the body of your request.")
        return FakeError(400, "We could not parse the JSON body of your request.")
    for field in route.required:
        if body.get(field) in (None, "", []):
            if anthropic_style:
                return FakeError(400, f"{field}: Field required")
            message = f"Missing required parameter: '{field}'."
            return FakeError(400, message, param=field, code="missing_required_parameter")
    return None


def _check_google(call: Call, route: _Route, body: Any) -> FakeError | None:
    if not call.api_key:
        # Vertex's project paths want an OAuth token; Gemini and express mode an API key.
        return GoogleError(401) if "project" in call.request.match_info else missing_key()
    if route.method == "POST" and not isinstance(body, dict):
        if call.provider == "vertex-anthropic":
            return FakeError(400, "There was an error parsing the body of your request.")
        return GoogleError(400, "Invalid JSON payload received. Unexpected token.")
    return route.check(call) if route.check is not None else None


def check_request(call: Call, route: _Route, body: Any) -> FakeError | None:
    """What the real provider would reject before doing any work."""
    if call.provider in GOOGLE:
        return _check_google(call, route, body)
    if not call.api_key:
        return _missing_key(call.provider)
    request = call.request
    dated = "deployment" in request.match_info or request.path == "/openai/responses"
    if dated and "api-version" not in request.query:
        return FakeError(404)
    if call.provider == "anthropic" and "anthropic-version" not in request.headers:
        return FakeError(400, "anthropic-version: header is required")
    return _bad_body(call, route, body)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A bound IPv4 socket (port 0: the OS picks a free one; read it back afterwards)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class FakeProviders:
    """OpenAI, Azure OpenAI, Anthropic, Gemini and Vertex AI fakes on one loopback port.

    ``async with FakeProviders.start() as fake:`` then point clients at ``fake.url``
    (``fake.openai_url`` for the OpenAI SDK's ``base_url``). Mutate ``fake.scenario``, or give a
    key its own scenario with ``fake.channel("sk-a")``; read ``fake.requests``. A multi-turn
    client (a coding agent running a tool) is answered per request by ``fake.script``: given
    the request's JSON body, it returns the scenario for that request (None: the usual one).
    """

    def __init__(self, scenario: Scenario | None = None, *, record: bool = True) -> None:
        self.scenario = scenario or Scenario()
        self.keys: dict[str, Scenario] = {}
        self.script: Callable[[dict[str, Any]], Scenario | None] | None = None
        self.requests: list[RecordedRequest] = []
        self.record = record
        self.realtime = RealtimeFake(self)  # websocket routes: bench/fakes/realtime.py
        self.vertex = VertexFake(self)  # service accounts and OAuth tokens: bench/fakes/vertex.py
        self._runner: web.AppRunner | None = None
        self._host, self._port = "127.0.0.1", 0

    @classmethod
    @asynccontextmanager
    async def start(
        cls,
        scenario: Scenario | None = None,
        *,
        record: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> AsyncIterator[FakeProviders]:
        """Serve on ``host:port`` (a random free port by default) until the block exits."""
        fake = cls(scenario, record=record)
        await fake.open(host, port)
        try:
            yield fake
        finally:
            await fake.close()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the fake providers are not running")
        return self._port

    @property
    def url(self) -> str:
        """Base URL (Anthropic SDK ``base_url``, Azure ``azure_endpoint``, channel base URL)."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_url(self) -> str:
        """The OpenAI SDK's ``base_url`` (``.../v1``)."""
        return f"{self.url}/v1"

    def channel(self, key: str, scenario: Scenario | None = None) -> Scenario:
        """The scenario for requests with API key ``key`` (created on first use)."""
        if scenario is not None:
            self.keys[key] = scenario
        return self.keys.setdefault(key, Scenario())

    def scenario_for(self, key: str) -> Scenario:
        found = self.keys.get(key)
        if found is not None:
            return found
        return Scenario.for_magic_key(key) or self.scenario

    def requests_for(self, key: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.api_key == key]

    @property
    def last(self) -> RecordedRequest:
        if not self.requests:
            raise AssertionError("the fake providers received no request")
        return self.requests[-1]

    def clear(self) -> None:
        self.requests.clear()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        for route in ROUTES:
            app.router.add_route(route.method, route.path, self._handler(route))
        self.realtime.add_routes(app)
        self.vertex.add_routes(app)
        return app

    async def open(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sock = _listening_socket(host, port)
        runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner, self._host, self._port = runner, host, sock.getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._port = None, 0

    def _api_key(self, request: web.Request, provider: Provider) -> str:
        """The caller's key; on Vertex's project paths the access token's client_email."""
        if provider not in GOOGLE:
            return api_key(request.headers, provider)
        if "project" not in request.match_info:
            return google_key(request)
        return self.vertex.identity(api_key(request.headers, "openai")) or ""

    def _handler(self, route: _Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, route)

        return handle

    def _remember(self, request: web.Request, raw: bytes, body: Any, call: Call) -> None:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
                raw=raw,
                api_key=call.api_key,
                provider=call.provider,
                path_params=dict(request.match_info),
            )
        )

    async def _serve(self, request: web.Request, route: _Route) -> web.StreamResponse:
        raw = await request.read() if request.can_read_body else b""
        content_type = request.headers.get("Content-Type", "")
        body = media.parse_form(content_type, raw) if route.form else _parse(raw)
        provider = _provider(route, request)
        key = self._api_key(request, provider)
        scripted = self.script(body) if self.script is not None and isinstance(body, dict) else None
        scenario = scripted or self.scenario_for(key)
        call = Call(request, body if isinstance(body, dict) else {}, scenario, provider, key)
        if self.record:
            self._remember(request, raw, body, call)
        if scenario.first_byte_delay > 0:
            await asyncio.sleep(scenario.first_byte_delay)
        problem = check_request(call, route, body) or scenario.take_error()
        if problem is not None and not (call.stream and problem.after_chunks is not None):
            return error_response(call, problem)
        call.stream_error = problem
        if scenario.disconnect_after is not None and not call.stream:
            drop_connection(request)
            return web.Response()
        return await route.handler(call)
