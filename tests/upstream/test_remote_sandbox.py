"""The client against the Remote emulator over in-process HTTP: pages, shaping, OAuth, limits, faults."""

from __future__ import annotations

import anyio
import pytest

from ops_mcp.upstream import ClientLimits, Connection, OAuthCredentials

from .conftest import REMOTE_BASE, make_client, remote_connection, remote_sandbox

pytestmark = pytest.mark.anyio


def requests_to(state, method: str, prefix: str) -> list:
    return [r for r in state.requests if r.method == method and r.path.startswith(prefix)]


async def test_max_items_walks_pages_with_progress(catalogue, remote):
    sandbox = remote_sandbox()
    async with make_client(sandbox, catalogue, max_result_bytes=1_000_000) as client:
        seen: list[tuple[float, float | None, str]] = []

        async def progress(done, total, message):
            seen.append((done, total, message))

        outcome = await client.call(
            remote_connection(),
            remote.endpoint("remote_list_employments"),
            {"max_items": 80, "page_size": 30},
            progress=progress,
        )
    assert outcome.ok, outcome.error
    items = outcome.data["employments"]
    assert len(items) == 80 and len({e["id"] for e in items}) == 80
    assert [d for d, _, _ in seen] == [30, 60, 80] and seen[-1][1] == 80
    assert outcome.data["next"] == {"page": 2, "page_size": 80}  # exact resume after item 80
    assert outcome.attempts == 3 == len(requests_to(sandbox.remote, "GET", "/v1/employments"))


async def test_continuation_resumes_exactly(catalogue, remote):
    sandbox = remote_sandbox()
    endpoint = remote.endpoint("remote_list_employments")
    async with make_client(sandbox, catalogue, max_result_bytes=6_000) as client:
        first = await client.call(remote_connection(), endpoint, {"page_size": 50})
        assert first.ok and first.data["truncated"] is True
        kept = len(first.data["employments"])
        assert 0 < kept < 50
        rest = await client.call(remote_connection(), endpoint, first.data["next"])
    async with make_client(sandbox, catalogue) as client:
        full = await client.call(remote_connection(), endpoint, {"page_size": 100})
    expected = [e["id"] for e in full.data["employments"]]
    got = [e["id"] for e in first.data["employments"] + rest.data["employments"]]
    assert got == expected[: len(got)] and len(got) > kept


async def test_fields_projection_keeps_ids_and_pagination(catalogue, remote):
    sandbox = remote_sandbox()
    async with make_client(sandbox, catalogue) as client:
        outcome = await client.call(
            remote_connection(),
            remote.endpoint("remote_list_employments"),
            {"fields": ["full_name"], "page_size": 5},
        )
    data = outcome.data
    assert set(data) == {"employments", "current_page", "total_pages", "total_count"}
    assert all(set(e) == {"id", "full_name"} for e in data["employments"])


async def test_not_found_is_actionable(catalogue, remote):
    sandbox = remote_sandbox()
    async with make_client(sandbox, catalogue) as client:
        outcome = await client.call(
            remote_connection(), remote.endpoint("remote_get_employment"), {"employment_id": "nope"}
        )
    assert not outcome.ok and outcome.error.kind == "not_found" and outcome.status == 404
    assert "no employment with id nope" in outcome.error.message
    assert "remote_list_employments" in outcome.error.message


async def test_oauth_one_token_for_20_concurrent_calls_and_refresh(catalogue, remote):
    from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS, RemoteSandboxSettings

    sandbox = remote_sandbox(RemoteSandboxSettings(token_ttl_seconds=3))
    connection = Connection(
        name="partner",
        backend="remote",
        base_url=REMOTE_BASE,
        oauth=OAuthCredentials(
            SANDBOX_CREDENTIALS["partner_client_id"], SANDBOX_CREDENTIALS["partner_client_secret"]
        ),
    )
    endpoint = remote.endpoint("remote_list_countries")
    async with make_client(sandbox, catalogue) as client:
        results = []

        async def one():
            results.append(await client.call(connection, endpoint, {}))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
        assert all(r.ok for r in results) and len(results) == 20
        assert len(requests_to(sandbox.remote, "POST", "/auth/oauth2/token")) == 1

        sandbox.time.advance(2.8)  # past the refresh point (10 % of 3 s before expiry)
        assert (await client.call(connection, endpoint, {})).ok
        assert len(requests_to(sandbox.remote, "POST", "/auth/oauth2/token")) == 2

        sandbox.remote.access_tokens.clear()  # revoked server-side: 401, one refresh, one retry
        outcome = await client.call(connection, endpoint, {})
        assert outcome.ok and outcome.attempts == 2
        assert len(requests_to(sandbox.remote, "POST", "/auth/oauth2/token")) == 3
        secret = SANDBOX_CREDENTIALS["partner_client_secret"]
        assert secret not in repr(connection) and secret not in repr(outcome)


async def test_bad_client_secret_tells_the_operator(catalogue, remote):
    sandbox = remote_sandbox()
    connection = Connection(
        name="partner",
        backend="remote",
        base_url=REMOTE_BASE,
        oauth=OAuthCredentials("sandbox-partner-7c1d", "wrong-secret-123"),
    )
    async with make_client(sandbox, catalogue) as client:
        outcome = await client.call(connection, remote.endpoint("remote_list_countries"), {})
    assert outcome.error.kind == "unauthorized" and "operator" in outcome.error.message
    assert "wrong-secret-123" not in outcome.error.message


async def test_burst_over_a_small_limit_never_sees_429(catalogue, remote):
    from ops_mcp.sandbox.remote import RemoteSandboxSettings

    # 20 requests per 1-second window, shared by two tokens of the same company.
    sandbox = remote_sandbox(RemoteSandboxSettings(rate_limit=20, window_seconds=1.0))
    connections = [
        remote_connection("acme", budget_key="remote:acme", per_minute=20),
        remote_connection("acme_second_token", budget_key="remote:acme", per_minute=20),
    ]
    endpoint = remote.endpoint("remote_list_countries")
    outcomes = []
    async with make_client(sandbox, catalogue, limits=ClientLimits(rate_window_s=1.0)) as client:

        async def worker(i: int):
            for _ in range(5):
                outcomes.append(await client.call(connections[i % 2], endpoint, {}))

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(worker, i)
        assert client.stats.total("upstream_429") == 0
    assert len(outcomes) == 50 and all(o.ok for o in outcomes)
    assert [r for r in sandbox.remote.requests if r.status == 429] == []
    assert sum(o.rate_limit_wait_s for o in outcomes) > 0  # it did pace


async def test_injected_5xx_on_reads_are_retried(catalogue, remote):
    sandbox = remote_sandbox()
    sandbox.remote.faults = sandbox.remote.faults.updated(
        {"error_rate": 0.12, "truncate_rate": 0.04, "non_json_rate": 0.04, "seed": 7}
    )
    endpoint = remote.endpoint("remote_get_employment")
    async with make_client(sandbox, catalogue) as client:
        listing = None
        while listing is None or not listing.ok:
            listing = await client.call(remote_connection(), remote.endpoint("remote_list_employments"), {})
        ids = [e["id"] for e in listing.data["employments"][:20]]
        outcomes = [await client.call(remote_connection(), endpoint, {"employment_id": i}) for i in ids]
        assert client.stats.total("retry") > 0
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert any(o.attempts > 1 for o in outcomes)


async def test_a_failed_remote_write_is_not_retried(catalogue, remote):
    sandbox = remote_sandbox()
    endpoint = remote.endpoint("remote_approve_timeoff")
    args = {
        "timeoff_id": "00000000-0000-0000-0000-000000000000",
        "approver_id": "00000000-0000-0000-0000-000000000001",
    }
    async with make_client(sandbox, catalogue) as client:
        sandbox.remote.faults = sandbox.remote.faults.updated({"error_rate": 1.0})
        outcome = await client.call(remote_connection(), endpoint, args)
        assert outcome.error.kind == "upstream_error" and outcome.attempts == 1
        assert "may or may not have happened" in outcome.error.message
        assert sum(1 for f in sandbox.remote.fault_log if f.method == "POST") == 1

        sandbox.remote.faults = sandbox.remote.faults.updated({"error_rate": 0.0, "drop_rate": 1.0})
        dropped = await client.call(remote_connection(), endpoint, args)
        assert dropped.error.kind == "network" and dropped.attempts == 1
        assert dropped.error.details == {"outcome": "unknown"}
        assert len(requests_to(sandbox.remote, "POST", "/v1/timeoff/")) == 1


async def test_country_form_errors_before_any_write(catalogue, remote):
    sandbox = remote_sandbox()
    endpoint = remote.endpoint("remote_create_employment")
    args = {"country_code": "PRT", "basic_information": {"name": "Ana", "email": "not-an-email", "x": 1}}
    async with make_client(sandbox, catalogue) as client:
        outcome = await client.call(remote_connection(), endpoint, args)
        again = await client.call(remote_connection(), endpoint, args)
    assert outcome.error.kind == "invalid"
    fields = outcome.error.details["fields"]
    assert fields["basic_information.email"] == ["must be a valid email"]
    assert fields["basic_information.job_title"] == ["is required"]
    assert fields["basic_information.x"] == ["is not allowed"]
    assert again.error.details == outcome.error.details
    assert requests_to(sandbox.remote, "POST", "/v1/employments") == []
    assert (
        len(requests_to(sandbox.remote, "GET", "/v1/countries/PRT/employment_basic_information")) == 1
    )  # cached


async def test_country_of_employment_forms_on_update(catalogue, remote):
    sandbox = remote_sandbox()
    async with make_client(sandbox, catalogue) as client:
        listing = await client.call(
            remote_connection(),
            remote.endpoint("remote_list_employments"),
            {"status": "created", "page_size": 1},
        )
        assert listing.ok and listing.data["employments"], listing
        employment_id = listing.data["employments"][0]["id"]
        outcome = await client.call(
            remote_connection(),
            remote.endpoint("remote_update_employment"),
            {"employment_id": employment_id, "address_details": {"no_such_field": True}},
        )
    assert outcome.error is not None and outcome.error.kind == "invalid", outcome
    assert any(k.startswith("address_details") for k in outcome.error.details["fields"])
    assert requests_to(sandbox.remote, "PATCH", "/v1/employments") == []


async def test_429_from_a_budget_spent_elsewhere_is_waited_out(catalogue, remote):
    from ops_mcp.sandbox.remote import RemoteSandboxSettings

    # Two separate clients (think: two processes) spend one company budget; each paces itself, the
    # server's 429s tell them about the other, and no caller ever sees one.
    sandbox = remote_sandbox(RemoteSandboxSettings(rate_limit=10, window_seconds=1.0))
    endpoint = remote.endpoint("remote_list_countries")
    outcomes = []
    limits = ClientLimits(rate_window_s=1.0, burst_fraction=1.0)
    async with (
        make_client(sandbox, catalogue, limits=limits) as a,
        make_client(sandbox, catalogue, limits=limits) as b,
    ):

        async def worker(client):
            for _ in range(8):
                outcomes.append(await client.call(remote_connection(per_minute=10), endpoint, {}))

        async with anyio.create_task_group() as tg:
            for client in (a, b, a, b):
                tg.start_soon(worker, client)
        upstream_429s = a.stats.total("upstream_429") + b.stats.total("upstream_429")
    assert len(outcomes) == 32 and all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert upstream_429s == sum(1 for r in sandbox.remote.requests if r.status == 429)


async def test_rate_limit_beyond_the_allowed_wait_says_when_to_retry(catalogue, remote):
    from ops_mcp.sandbox.remote import RemoteSandboxSettings
    from ops_mcp.upstream import RetryPolicy

    sandbox = remote_sandbox(RemoteSandboxSettings(rate_limit=3, window_seconds=30.0))
    policy = RetryPolicy(max_rate_limit_wait_s=0.5)
    endpoint = remote.endpoint("remote_list_countries")
    async with make_client(
        sandbox, catalogue, retry=policy, limits=ClientLimits(rate_window_s=30.0, burst_fraction=1.0)
    ) as client:
        results = [await client.call(remote_connection(per_minute=3), endpoint, {}) for _ in range(4)]
    assert [r.ok for r in results] == [True, True, True, False]
    error = results[-1].error
    assert error.kind == "rate_limited" and 25 <= error.retry_after_s <= 30
    assert f"Retry in about {int(error.retry_after_s)} seconds" in error.message
    assert len(sandbox.remote.requests) == 3  # the refused call never went upstream


async def test_every_backoff_goes_through_the_injected_sleep(catalogue, remote):
    sandbox = remote_sandbox()
    sandbox.remote.faults = sandbox.remote.faults.updated({"error_rate": 1.0, "seed": 5})
    events = []
    async with make_client(sandbox, catalogue, events=events.append) as client:
        outcome = await client.call(remote_connection(), remote.endpoint("remote_list_countries"), {})
    assert outcome.error is not None and outcome.error.kind == "upstream_error" and outcome.attempts == 4
    backoffs = [e.wait_s for e in events if e.kind == "retry"]
    assert len(backoffs) == 3 and sandbox.time.sleeps == backoffs
