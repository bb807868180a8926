"""Pieces shared by both sandbox emulators.

Wiring, as both emulators do it::

    state = SandboxState(faults=settings.faults)            # or any object with the same attributes
    app = Starlette(
        routes=[*api_routes, *sandbox_routes(state)],          # /_sandbox/requests, /_sandbox/faults
        middleware=[
            Middleware(FaultInjector, settings_getter=lambda: state.faults, on_fault=state.fault_log.append),
            Middleware(RequestLogMiddleware, state=state),
        ],
    )
    app.state.sandbox = state

FaultInjector sits outside RequestLogMiddleware, so a request refused by an injected 5xx never
"reaches" the back end (no record, no side effect), while drop/truncate/non-JSON faults are
recorded with the status the back end really produced.
"""

from ops_mcp.sandbox.common.clock import Clock, ManualClock, SystemClock
from ops_mcp.sandbox.common.delivery import DeadLetter, DeliveryAttempt, WebhookDeliverer
from ops_mcp.sandbox.common.faults import FaultInjector, FaultRecord, FaultSettings, SimulatedDisconnect
from ops_mcp.sandbox.common.requests_log import (
    RequestLogMiddleware,
    RequestRecord,
    SandboxState,
    sandbox_routes,
)

__all__ = [
    "Clock",
    "DeadLetter",
    "DeliveryAttempt",
    "FaultInjector",
    "FaultRecord",
    "FaultSettings",
    "ManualClock",
    "RequestLogMiddleware",
    "RequestRecord",
    "SandboxState",
    "SimulatedDisconnect",
    "SystemClock",
    "WebhookDeliverer",
    "sandbox_routes",
]
