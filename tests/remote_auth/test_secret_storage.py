"""Refresh tokens at rest: sealed with AES-GCM under a key kept away from the state dir, bound to their
connection and company, and never readable from the database file."""

from __future__ import annotations

import base64
import os
import sqlite3

import pytest

from ops_mcp.secretbox import KEY_ENV, SecretBox, SecretKeyError, SecretUnreadable, load_secret_key, new_key
from ops_mcp.upstream.grants import GRANTS_FILE, GrantUnreadable, SqliteGrantStore, StoredGrant
from tests.support.partner import write_key_file

TOKEN = "ra_test_refresh_0123456789abcdef0123456789abcdef"


def box() -> SecretBox:
    return SecretBox(base64.urlsafe_b64decode(new_key()))


def test_sealed_values_open_only_with_their_key_and_purpose():
    one, other = box(), box()
    sealed = one.seal(TOKEN, "refresh_token|remote|acme|c-1")
    assert TOKEN not in sealed and sealed.startswith("v1:")
    assert one.open(sealed, "refresh_token|remote|acme|c-1") == TOKEN
    assert one.seal(TOKEN, "p") != one.seal(TOKEN, "p")  # a fresh nonce every time
    with pytest.raises(SecretUnreadable):
        other.open(sealed, "refresh_token|remote|acme|c-1")
    with pytest.raises(SecretUnreadable):
        one.open(sealed, "refresh_token|remote|globex|c-1")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretUnreadable):
        one.open(tampered, "refresh_token|remote|acme|c-1")
    assert "key" in repr(one) and base64.urlsafe_b64encode(one._key).decode() not in repr(one)


def test_the_key_comes_from_the_environment_or_a_private_file_outside_the_state_dir(tmp_path):
    state = tmp_path / "state"
    key = new_key()
    assert load_secret_key(None, state, {KEY_ENV: key}).key == base64.urlsafe_b64decode(key)
    key_file = write_key_file(tmp_path / "keys")
    source = load_secret_key(key_file, state, {})
    assert len(source.key) == 32 and "key_file" in source.description and key_file.read_text().strip() not in repr(source)

    with pytest.raises(SecretKeyError) as missing:
        load_secret_key(None, state, {})
    assert KEY_ENV in str(missing.value) and "ops-mcp connect --new-key" in str(missing.value)

    inside = write_key_file(state)
    with pytest.raises(SecretKeyError) as beside:
        load_secret_key(inside, state, {})
    assert "inside the state directory" in str(beside.value)

    os.chmod(key_file, 0o644)
    with pytest.raises(SecretKeyError) as readable:
        load_secret_key(key_file, state, {})
    assert f"chmod 600 {key_file.resolve()}" in str(readable.value)

    bad = tmp_path / "bad.key"
    bad.write_text("not-a-key")
    os.chmod(bad, 0o600)
    with pytest.raises(SecretKeyError, match="32 bytes"):
        load_secret_key(bad, state, {})
    with pytest.raises(SecretKeyError, match="cannot be read"):
        load_secret_key(tmp_path / "absent.key", state, {})
    with pytest.raises(SecretKeyError, match=KEY_ENV):
        load_secret_key(None, state, {KEY_ENV: "short"})


def test_the_store_keeps_only_sealed_tokens_bound_to_connection_and_company(tmp_path):
    key = box()
    store = SqliteGrantStore(tmp_path / GRANTS_FILE, key, clock=lambda: 1000.0)
    assert store.get("remote", "acme") is None
    store.put("remote", "acme", StoredGrant("company-acme", TOKEN))
    store.put("remote", "globex", StoredGrant("company-globex", TOKEN + "-globex"))
    grant = store.get("remote", "acme")
    assert grant == StoredGrant("company-acme", TOKEN, 1000.0) and TOKEN not in repr(grant)
    store.put("remote", "acme", StoredGrant("company-acme", TOKEN + "-rotated", 2000.0))
    assert store.get("remote", "acme").refresh_token == TOKEN + "-rotated"
    store.close()

    for name in os.listdir(tmp_path):  # the database and its WAL files never hold the token
        assert TOKEN.encode() not in (tmp_path / name).read_bytes(), name

    # A row copied onto another connection (or re-labelled with another company) does not open.
    db = sqlite3.connect(tmp_path / GRANTS_FILE)
    sealed = db.execute("SELECT sealed_refresh_token FROM grants WHERE connection = 'globex'").fetchone()[0]
    db.execute("UPDATE grants SET sealed_refresh_token = ? WHERE connection = 'acme'", (sealed,))
    db.execute("UPDATE grants SET company_id = 'company-acme' WHERE connection = 'globex'")
    db.commit()
    db.close()
    reopened = SqliteGrantStore(tmp_path / GRANTS_FILE, key)
    for connection in ("acme", "globex"):
        with pytest.raises(GrantUnreadable):
            reopened.get("remote", connection)
    with pytest.raises(GrantUnreadable):  # and nothing opens under another key
        SqliteGrantStore(tmp_path / GRANTS_FILE, box()).get("remote", "acme")
    reopened.close()
