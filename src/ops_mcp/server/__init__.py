"""The MCP surface: the governed server (tool list and calls per policy), discovery meta-tools, providers."""
