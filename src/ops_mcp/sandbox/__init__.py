"""Embedded sandbox: faithful emulators of the Remote and RemoteOps APIs.

`ops_mcp.sandbox.app.create_sandbox_app` mounts both; each back end lives in its own package
(`remote/`, `remoteops/`) and shares the pieces in `common/`.
"""
