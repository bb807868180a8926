"""MCP wiring: the governed server, transports, agent identity, confirmation, webhooks receiver."""
