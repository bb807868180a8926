"""ops-mcp: a governed MCP tool server for the Remote and RemoteOps APIs."""

__version__ = "0.1.0"
