"""The HTTP transport for real back ends: ``http1.Http1Transport``, or httpx's where proxies are configured.

Proxies come from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, with ``NO_PROXY``) as httpx
reads them; only httpx's own transport speaks to a proxy, so with any of them set ops-mcp keeps it.

httpx's transport, where it is used, gets a cheaper "is this idle connection still open?" (``httpx_idle``).
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def verifying_tls() -> ssl.SSLContext:
    """httpx's default TLS context (CA bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR``), made once per process.

    httpx makes a new one for every transport, and loading the CA bundle costs ~16 ms each time: on a
    server's first call, for every back end. One context serves any number of connections.
    """
    return httpx.create_ssl_context()


def proxies_configured() -> bool:
    """Whether the environment names a proxy httpx would use (``trust_env``, its default)."""
    import urllib.request

    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


def network_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The transport to real back ends: ``Http1Transport``, or httpx's own where a proxy is configured."""
    if proxies_configured():
        return httpx_transport(limits)
    from .http1 import Http1Transport

    return Http1Transport(limits, verifying_tls, lambda: httpx_transport(limits))


def httpx_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """``httpx.AsyncHTTPTransport(limits=limits)`` whose connections answer "is readable" cheaply."""
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=verifying_tls())
    cheap_idle_checks(transport)
    return transport


def cheap_idle_checks(transport: Any) -> None:
    """See ``httpx_idle.cheap_idle_checks``."""
    from .httpx_idle import cheap_idle_checks as install

    install(transport)
