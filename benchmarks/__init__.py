"""ops-mcp benchmarks: ops-mcp side by side with FastMCP's ``from_openapi`` peer (``make bench``)."""
