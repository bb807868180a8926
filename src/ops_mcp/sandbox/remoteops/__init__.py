"""RemoteOps v1 emulator (see `tool_manifests/openapi/remoteops.json`)."""

from ops_mcp.sandbox.remoteops.app import create_remoteops_app
from ops_mcp.sandbox.remoteops.credentials import SANDBOX_CREDENTIALS
from ops_mcp.sandbox.remoteops.settings import RemoteOpsSandboxSettings

__all__ = ["SANDBOX_CREDENTIALS", "RemoteOpsSandboxSettings", "create_remoteops_app"]
