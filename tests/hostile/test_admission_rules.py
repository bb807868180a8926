"""The admission rules one at a time (``transports/limits.py``), with the clock passed in."""

from __future__ import annotations

import pytest

from ops_mcp.config import ServerLimits
from ops_mcp.transports.limits import Ledger, Principal, Refused, agent_token_credential, principal_of
from tests.support.hostile import ManualClock

A1 = Principal("a", "cred-a1")
A2 = Principal("a", "cred-a2")
B = Principal("b", "cred-b")
C = Principal("c", "cred-c")


def _ledger(**limits) -> tuple[Ledger, ManualClock]:
    clock = ManualClock()
    return Ledger(ServerLimits(**limits), clock), clock


def _open(ledger: Ledger, principal: Principal, n: int = 1) -> list[str]:
    keys = []
    for _ in range(n):
        place, evicted = ledger.reserve_session(principal)
        assert evicted == []
        key = f"http:{principal.credential}-{len(ledger.sessions)}"
        ledger.bind(place, key, None)
        keys.append(key)
    return keys


def test_a_credential_over_its_session_limit_is_refused_with_a_retry_after():
    ledger, clock = _ledger(sessions_per_credential=2, crowded_idle_seconds=60)
    _open(ledger, A1, 2)
    clock.advance(45)
    with pytest.raises(Refused) as refused:
        ledger.reserve_session(A1)
    assert refused.value.status == 429 and refused.value.retry_after == 15


def test_the_agent_limit_covers_all_its_credentials():
    ledger, _ = _ledger(sessions_per_credential=2, sessions_per_agent=3)
    _open(ledger, A1, 2)
    _open(ledger, A2, 1)
    with pytest.raises(Refused, match="agent a"):
        ledger.reserve_session(A2)


def test_idle_sessions_of_a_crowded_credential_make_room_oldest_first():
    ledger, clock = _ledger(sessions_per_credential=2, crowded_idle_seconds=60)
    first, second = _open(ledger, A1, 2)
    clock.advance(61)
    ledger.session_busy(second, +1)  # in use: never taken
    place, evicted = ledger.reserve_session(A1)
    assert [s.key for s in evicted] == [first] and place.principal == A1


def test_a_session_in_use_is_never_taken_for_room():
    ledger, clock = _ledger(sessions_per_credential=1, crowded_idle_seconds=60)
    (only,) = _open(ledger, A1)
    ledger.session_busy(only, +1)
    clock.advance(3600)
    with pytest.raises(Refused):
        ledger.reserve_session(A1)


def test_at_the_server_cap_the_biggest_holders_least_recently_used_idle_session_goes():
    ledger, clock = _ledger(max_sessions=4, sessions_per_credential=10, sessions_per_agent=10)
    older = _open(ledger, A1, 1)
    clock.advance(1)
    _open(ledger, A1, 2)
    _open(ledger, B, 1)
    _, evicted = ledger.reserve_session(C)
    assert [s.key for s in evicted] == older


def test_at_the_server_cap_an_agent_cannot_push_out_one_with_no_more_than_itself():
    ledger, _ = _ledger(max_sessions=4, sessions_per_credential=10, sessions_per_agent=10)
    _open(ledger, A1, 2)
    _open(ledger, B, 2)
    with pytest.raises(Refused) as refused:
        ledger.reserve_session(B)
    assert refused.value.status == 503


def test_a_reserved_place_counts_at_once_and_is_given_back_if_unused():
    ledger, _ = _ledger(sessions_per_credential=1)
    place, _ = ledger.reserve_session(A1)
    with pytest.raises(Refused):
        ledger.reserve_session(A1)  # a concurrent opening cannot take the same last place
    ledger.release(place)
    ledger.reserve_session(A1)


def test_sessions_the_transport_forgot_are_forgotten():
    ledger, _ = _ledger(sessions_per_credential=1)
    (key,) = _open(ledger, A1)
    ledger.forget_missing(lambda k: k != key)
    ledger.reserve_session(A1)


def test_calls_and_streams_are_counted_separately_per_agent_and_credential():
    ledger, _ = _ledger(calls_per_credential=2, calls_per_agent=3, streams_per_credential=1, streams_per_agent=1)
    ledger.begin(A1, "call")
    ledger.begin(A1, "call")
    with pytest.raises(Refused, match="this credential"):
        ledger.begin(A1, "call")
    ledger.begin(A2, "call")
    with pytest.raises(Refused, match="agent a"):
        ledger.begin(A2, "call")
    ledger.begin(A1, "stream")  # streams do not use up calls
    ledger.begin(B, "call")  # nor does one agent use up another's
    ledger.end(A1, "call")
    ledger.begin(A2, "call")
    assert ledger.in_flight(A1, "call") == (3, 1) and ledger.in_flight(B, "call") == (1, 1)


def test_agent_tokens_jwts_and_other_tokens_are_told_apart_without_keeping_the_token():
    from mcp.server.auth.provider import AccessToken

    agent_token = AccessToken(token="omcp_secret", client_id="a", scopes=[], subject="a",
                              claims={"ops_mcp_token_id": "abc123"})
    refreshed = [AccessToken(token=f"jwt-{n}", client_id="a", scopes=[], subject="u1", claims={"iss": "https://i"})
                 for n in range(2)]
    other_user = AccessToken(token="jwt-x", client_id="a", scopes=[], subject="u2", claims={"iss": "https://i"})

    assert principal_of(agent_token) == Principal("a", agent_token_credential("abc123"))
    assert "omcp_secret" not in principal_of(agent_token).credential
    assert principal_of(refreshed[0]) == principal_of(refreshed[1])  # one holder across token refreshes
    assert principal_of(other_user) != principal_of(refreshed[0])


def test_the_sweep_ends_idle_sessions_only_of_holders_at_their_limit():
    ledger, clock = _ledger(sessions_per_credential=2, sessions_per_agent=10, crowded_idle_seconds=60)
    crowded = _open(ledger, A1, 2)
    calm = _open(ledger, B, 1)
    clock.advance(59)
    assert ledger.crowded_idle() == []
    clock.advance(2)
    ledger.session_busy(crowded[1], +1)
    assert [s.key for s in ledger.crowded_idle()] == [crowded[0]]
    assert set(ledger.sessions) == {crowded[1], *calm}
