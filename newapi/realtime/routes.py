"""``GET /v1/realtime`` (websocket) and the realtime session endpoints.

Everything that can refuse a session - the key, the user, the group, the model, a model no
channel serves (checked before its price, as the relay), the price, the rate limit, the quota
float and the upstream handshake on every channel tried - runs *before* the upgrade, so a
refusal is a plain HTTP error with an OpenAI error body. After the upgrade the gateway speaks
only in realtime ``error`` events and close frames.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Any

import orjson
from quart import Blueprint, Response, current_app, websocket
from quart.blueprints import BlueprintSetupState
from quart.ctx import RequestContext

from newapi.errors import (
    GatewayError,
    InvalidRelayRequest,
    openai_body,
)
from newapi.realtime import hypercorn_seam
from newapi.realtime.bridge import Bridge, Limits
from newapi.realtime.connection import BridgeWebsocketConnection
from newapi.realtime.dial import Dialed, SessionRequest, dial
from newapi.realtime.ephemeral import relay_ephemeral
from newapi.realtime.metering import Session, SessionMeter
from newapi.realtime.upstream import caller_protocol
from newapi.relay import allow_any_origin, as_relay_error, render_error
from newapi.relay.auth import Caller, authenticate, check_model_allowed
from newapi.relay.health import report_failure
from newapi.relay.http_connection import body_after_checks
from newapi.relay.job import new_request_id
from newapi.relay.pipeline import (
    caller_price,
    check_recordable,
    check_served,
    route_auto_group,
    serving_caller,
)
from newapi.relay.ratelimit import Admission, admit
from newapi.relay.upstream import Attempts
from newapi.state import AppState, app_state

log = logging.getLogger(__name__)

bp = Blueprint("realtime", __name__)
bp.register_error_handler(GatewayError, render_error)  # the HTTP routes; the websocket
# route answers its refusals itself (render_error reads the HTTP request)
bp.after_request(allow_any_origin)  # browsers fetch ephemeral keys too
FOREVER = 10.0 * 365 * 24 * 3600


@bp.record_once
def _install_connection_class(setup: BlueprintSetupState) -> None:
    # The bridge needs bounded inbound frames and the caller's close code (connection.py,
    # hypercorn_seam.py).
    setup.app.asgi_websocket_class = BridgeWebsocketConnection
    hypercorn_seam.install()


@bp.post("/v1/realtime/sessions")
@body_after_checks
async def sessions() -> Response:
    return await relay_ephemeral("realtime/sessions")


@bp.post("/v1/realtime/client_secrets")
@body_after_checks
async def client_secrets() -> Response:
    return await relay_ephemeral("realtime/client_secrets")


@bp.websocket("/v1/realtime")
async def realtime() -> Response | None:
    state = app_state()
    admission = Admission()
    try:
        caller = await _authenticate(state)
        admission = await admit(state.cache, state.options.current, caller)
        meter = await _open_meter(state, caller)
    except GatewayError as error:
        return await admission.finish(refusal(error))
    try:
        dialed = await _dial(state, meter)
    except GatewayError as error:
        await meter.close()
        return await admission.finish(refusal(error, meter.session.request_id))
    try:
        await _bridge(state, dialed, meter)
    finally:
        await meter.close()
    return None


def refusal(error: GatewayError, request_id: str = "") -> Response:
    relay_error = as_relay_error(error)
    response = Response(
        orjson.dumps(openai_body(relay_error)),
        status=relay_error.http_status,
        content_type="application/json",
    )
    if request_id:
        response.headers["X-Oneapi-Request-Id"] = request_id
    return response


async def _authenticate(state: AppState) -> Caller:
    # The relay's checks read the HTTP request: run them against the handshake's request.
    async with _handshake_request():
        return await authenticate(state.entities, state.options.current)


def _handshake_request() -> RequestContext:
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    ws = websocket._get_current_object()  # type: ignore[attr-defined]

    async def no_push(path: str, headers: Any) -> None:
        return None

    request = app.request_class(
        "GET",
        ws.scheme,
        ws.path,
        ws.query_string,
        ws.headers,
        ws.root_path,
        ws.http_version,
        ws.scope,
        send_push_promise=no_push,
    )
    return app.request_context(request)


def _model() -> str:
    model = websocket.args.get("model") or websocket.args.get("deployment") or ""
    if not model:
        raise InvalidRelayRequest("model is required: connect to /v1/realtime?model=...")
    return model


async def _open_meter(state: AppState, caller: Caller) -> SessionMeter:
    model = _model()
    check_recordable(state)
    check_model_allowed(caller, model)
    check_served(state.channels.index, caller, model)  # 503 before pricing, as the relay
    caller = route_auto_group(state, caller, model)  # an auto key: its first serving group
    price = caller_price(state.options.current, caller, model)
    session = Session(caller, model, price, new_request_id(), ip=websocket.remote_addr or "")
    meter = SessionMeter(state.ledger, state.writer, lambda: state.options.current, session)
    await meter.open()
    return meter


async def _dial(state: AppState, meter: SessionMeter) -> Dialed:
    options = state.options.current
    caller = meter.session.caller
    request = SessionRequest(
        model=meter.session.model,
        query=dict(websocket.args.items()),
        headers={k.lower(): v for k, v in websocket.headers.items()},
        offered=list(websocket.requested_subprotocols),
        azure_default_version=state.settings.azure_default_api_version,
    )
    attempts = Attempts()
    try:
        dialed = await dial(
            state.channels.index,
            caller,
            request,
            retry_times=options.int("RetryTimes"),
            retry_ranges=options.status_ranges("AutomaticRetryStatusCodes"),
            attempts=attempts,
            on_failure=lambda channel, failure: state.spawn(
                report_failure(state, channel, failure), "channel-health"
            ),
        )
    finally:
        meter.tried = list(attempts.tried)
    meter.channel_id, meter.upstream_model = dialed.channel.id, dialed.upstream_model
    routed = serving_caller(state, caller, meter.session.model, dialed.channel.id)
    if routed is not caller:  # a cross-group retry: that group's ratio bills the session
        price = caller_price(options, routed, meter.session.model)
        meter.session = replace(meter.session, caller=routed, price=price)
    return dialed


async def _bridge(state: AppState, dialed: Dialed, meter: SessionMeter) -> None:
    options = state.options.current
    offered = list(websocket.requested_subprotocols)
    try:
        await websocket.accept(
            headers={"X-Oneapi-Request-Id": meter.session.request_id},
            subprotocol=caller_protocol(offered, dialed.connection.subprotocol),
        )
        limits = Limits(
            idle_seconds=_seconds(options.float("RealtimeIdleTimeoutSeconds")),
            max_seconds=_seconds(options.float("RealtimeMaxSessionSeconds")),
        )
        caller_socket: Any = websocket._get_current_object()  # type: ignore[attr-defined]
        bridge = Bridge(
            caller_socket, dialed.connection, meter.bill, limits, meter.session.request_id
        )
        ending = await bridge.run()
        log.debug("realtime session %s ended: %s", meter.session.request_id, ending.why)
    except Exception:  # the session's top level: log it, and never leave the caller hanging
        log.exception("realtime session %s failed", meter.session.request_id)
        with contextlib.suppress(RuntimeError):  # already closed
            await websocket.close(1011, "internal gateway error")
    finally:
        await dialed.connection.close()


def _seconds(value: float) -> float:
    return value if value > 0 else FOREVER
