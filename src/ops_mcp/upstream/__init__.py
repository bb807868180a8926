"""The shared upstream client: auth, rate limits, retries, idempotency, pagination, shaping, errors.

One ``UpstreamClient`` serves every MCP session; see ``client.py`` for the sequence of a call.
"""

from .client import BinaryContent, CallOutcome, ClientLimits, UpstreamClient
from .connection import Connection, OAuthCredentials
from .errors import UpstreamCallError, UpstreamError
from .events import UpstreamEvent, UpstreamStats
from .retry import RetryPolicy

__all__ = [
    "BinaryContent",
    "CallOutcome",
    "ClientLimits",
    "Connection",
    "OAuthCredentials",
    "RetryPolicy",
    "UpstreamCallError",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamEvent",
    "UpstreamStats",
]
