"""Partner connections in the configuration: validated at start, each error naming its key and the fix."""

from __future__ import annotations

import pytest

from ops_mcp.config import ConfigError, Settings, load_settings
from ops_mcp.runtime import build_runtime
from ops_mcp.secretbox import KEY_ENV
from tests.support.partner import PARTNER_ID, PARTNER_SECRET, partner_connection, toml_config, write_key_file

BASE = "http://127.0.0.1:9/remote"  # never contacted: these tests stop at start-up


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


def _build(tmp_path, connections, key_file=None):
    path = toml_config(tmp_path / "ops-mcp.toml", state_dir=tmp_path / "state", key_file=key_file,
                       remote_base=BASE, connections=connections)
    return build_runtime(load_settings(path))


def test_a_partner_connection_names_its_company_and_starts_with_a_key(tmp_path):
    key_file = write_key_file(tmp_path / "keys")
    runtime = _build(tmp_path, {"acme": partner_connection("c-acme", label="Acme GmbH"),
                                "partner": {"label": "Partner", "oauth": {"client_id": PARTNER_ID,
                                                                          "client_secret": PARTNER_SECRET}}},
                     key_file)
    acme, partner = runtime.tenants.get("remote", "acme"), runtime.tenants.get("remote", "partner")
    assert acme.connection.company_id == "c-acme" and acme.connection.company_bound
    assert partner.connection.company_id is None and not partner.connection.company_bound
    assert [t.name for t in runtime.tenants.company_grants()] == ["acme"] and runtime.grants is not None
    assert PARTNER_SECRET not in repr(acme.connection)


def test_without_a_secret_key_a_company_connection_is_refused_at_start(tmp_path):
    with pytest.raises(ConfigError) as exc:
        _build(tmp_path, {"acme": partner_connection("c-acme", label="Acme GmbH")})
    message = str(exc.value)
    assert message.startswith("backends.remote.connections.acme.company_id:")
    assert KEY_ENV in message and "[secrets] key_file" in message and "ops-mcp connect --new-key" in message


def test_a_key_file_inside_the_state_dir_is_refused(tmp_path):
    inside = write_key_file(tmp_path / "state")
    with pytest.raises(ConfigError, match="inside the state directory"):
        _build(tmp_path, {"acme": partner_connection("c-acme", label="Acme GmbH")}, inside)


@pytest.mark.parametrize(("connection", "key", "says"), [
    ({"company_id": "c-acme", "token": "ra_test_acme_7f3c9a2e51d84b06c1e5"}, "connections.acme.company_id",
     "a customer API token needs no company_id"),
    ({"company_id": "c-acme"}, "connections.acme.company_id", "add [backends.remote.connections.acme.oauth]"),
    ({"token": "ra_test_acme_7f3c9a2e51d84b06c1e5", "oauth": {"client_id": PARTNER_ID, "client_secret": "s"}},
     "connections.acme", "not both"),
    ({"company_id": "c acme; drop", "oauth": {"client_id": PARTNER_ID, "client_secret": "s"}},
     "connections.acme.company_id", "pattern"),
    ({"company_id": "c-acme", "oauth": {"client_id": PARTNER_ID, "client_secret": "s", "authorize_path": "x"}},
     "connections.acme.oauth.authorize_path", "pattern"),
])
def test_bad_partner_settings_name_the_key(tmp_path, connection, key, says):
    with pytest.raises(ConfigError) as exc:
        _build(tmp_path, {"acme": connection}, write_key_file(tmp_path / "keys"))
    assert f"backends.remote.{key}" in str(exc.value) and says in str(exc.value), str(exc.value)


def test_company_id_on_a_back_end_with_one_kind_of_token_is_refused(tmp_path):
    settings = Settings(storage={"dir": str(tmp_path / "state")},
                        backends={"remoteops": {"connections": {"northwind": {
                            "base_url": "http://127.0.0.1:9/remoteops/v1", "company_id": "x",
                            "oauth": {"client_id": "c", "client_secret": "s"}}}}})
    with pytest.raises(ConfigError) as exc:
        build_runtime(settings)
    assert str(exc.value).startswith("backends.remoteops.connections.northwind.company_id:")
    assert "one kind of token" in str(exc.value)


def test_connect_needs_a_partner_connection_for_a_company_outside_the_process(tmp_path):
    from ops_mcp.authorization.flow import ConnectError, check_connectable

    key_file = write_key_file(tmp_path / "keys")
    runtime = _build(tmp_path, {"acme": partner_connection("c-acme", label="Acme GmbH"),
                                "token": {"token": "ra_test_acme_7f3c9a2e51d84b06c1e5"}}, key_file)
    check_connectable(runtime.tenants.get("remote", "acme"))
    with pytest.raises(ConnectError, match="not a partner connection for a company"):
        check_connectable(runtime.tenants.get("remote", "token"))
    embedded = build_runtime(Settings(
        storage={"dir": str(tmp_path / "state2")}, secrets={"key_file": str(key_file)},
        backends={"remote": {"connections": {"acme": partner_connection("c-acme", label="Acme GmbH")}},
                  "remoteops": {"enabled": False}}))
    with pytest.raises(ConnectError, match="embedded sandbox"):
        check_connectable(embedded.tenants.get("remote", "acme"))
