"""Remote (remote.com HR / employer-of-record API) emulator.

`create_remote_app(settings)` returns a Starlette app serving `/v1/...`, `/v2/...` and
`/auth/oauth2/token` with seeded data, Remote's auth, rate limits, envelopes and errors, country
JSON-Schema forms, and signed webhooks. `app.state.sandbox` is the `RemoteState`.
"""

from ops_mcp.sandbox.remote.app import create_remote_app
from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
from ops_mcp.sandbox.remote.settings import RemoteSandboxSettings
from ops_mcp.sandbox.remote.store import RemoteState

__all__ = ["SANDBOX_CREDENTIALS", "RemoteSandboxSettings", "RemoteState", "create_remote_app"]
