"""ops-mcp: a governed MCP tool server for the Remote and RemoteOps APIs."""

from . import _httpx_cli

__version__ = "0.1.0"

_httpx_cli.defer()  # before anything imports httpx (see _httpx_cli)
