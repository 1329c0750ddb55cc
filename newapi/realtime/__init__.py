"""Realtime: the ``/v1/realtime`` websocket bridge to OpenAI and Azure, metered per response.

Pure parts: :mod:`~newapi.realtime.upstream` (URLs, headers, subprotocols, close codes),
:mod:`~newapi.realtime.events` (event inspection, usage), :mod:`~newapi.realtime.pricing`
(quota). I/O: :mod:`~newapi.realtime.dial` (channel choice and handshake with failover),
:mod:`~newapi.realtime.bridge` (the two pumps), :mod:`~newapi.realtime.metering` (ledger and
logs), :mod:`~newapi.realtime.connection` (the Quart websocket seam) and
:mod:`~newapi.realtime.routes` (the blueprint).
"""
