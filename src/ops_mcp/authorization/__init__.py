"""A company's consent for a partner connection: the OAuth authorization-code flow run once by
``ops-mcp connect``, its callback (a loopback listener or the HTTP server's route), and the encrypted
store of the refresh token it yields."""
