"""How agents reach the server: stdio, streamable HTTP and SSE, agent authentication, health and metrics."""
