"""Item 3 — isolation. An agent cannot list, search, describe or call a tool outside its policy by any
spelling (in process, both eras, and over HTTP); an agent bound to one tenant cannot read or change another
tenant's objects; HTTP requests without a valid credential of their own, or from a foreign Origin, fail. Every
refusal is checked against the sandbox's own count of the requests it received: zero.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ops_mcp.server.discovery import CALL, DESCRIBE, SEARCH
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.stdio import build_stdio_server
from tests.support.hostile import ACCEPT, INIT
from tests.support.runtime import ACME

from .recorder import record
from .rel3_spellings import FIXED, skeleton, spelling
from .rel3_support import driven, http_client, make_runtime, serve, text_of
from .volume import volume

pytestmark = pytest.mark.timeout(150)

HR_AREAS = {"remote.employments": "read", "remote.timeoff": "full"}
AGENTS = {
    "hr": {"areas": HR_AREAS, "tool_mode": "static", "connections": ACME},
    "hr_finder": {"areas": HR_AREAS, "tool_mode": "discovery", "connections": ACME},
    "dispatch": {
        "areas": {"remoteops.work_orders": "full", "remoteops.customers": "read"},
        "tool_mode": "static",
        "connections": ACME,
    },
    "globex_hr": {
        "areas": {"remote.employments": "read", "remote.timeoff": "read"},
        "connections": {"remote": "globex"},
    },
    "contoso_dispatch": {"areas": {"remoteops.work_orders": "read"}, "connections": {"remoteops": "contoso"}},
    "nobody": {"areas": {}},
    "temp": {"areas": {"remote.employments": "read"}, "connections": ACME},
}
META = {SEARCH, DESCRIBE, CALL}
FAST = {
    "remote_rate_limit": 100_000,
    "remoteops_rate_limit": 100_000,
}  # the sandbox's budget is not under test
ERAS = ["legacy", "2026-07-28"]
# Hypothesis-drawn spellings per era (plus the fixed ones), and every how many names get every fixed spelling.
SPELLINGS = {"legacy": volume(400, 100), "2026-07-28": volume(100, 25)}
FIXED_STEP = {"legacy": volume(2, 6), "2026-07-28": volume(6, 12)}


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    runtime, sandbox = make_runtime(tmp_path_factory.mktemp("isolation"), AGENTS, sandbox=FAST)
    catalogue = {e.tool for m in runtime.catalogue.values() for e in m.endpoints}
    allowed = {e.tool for e in runtime.policy("hr").visible()}
    yield runtime, sandbox, catalogue, allowed
    runtime.audit.close()


class Refusals:
    """Counts refused cases; each must be refused and must cost the upstream nothing."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.tried = Counter()
        self.failures: list[str] = []

    def expect(self, kind: str, label: str, result: Any, before: int, check) -> None:
        self.tried[kind] += 1
        problem = check(result)
        if self.sandbox.count != before:
            problem = (problem + "; " if problem else "") + f"{self.sandbox.count - before} upstream requests"
        if problem:
            self.failures.append(f"{kind} {label!r}: {problem}")


def _unknown(result: Any) -> str | None:
    text = text_of(result)
    return (
        None
        if result.is_error and text.startswith("Unknown tool")
        else f"not refused as unknown: {text[:160]!r}"
    )


def _search_names(result: Any) -> set[str]:
    return {row["name"] for row in (result.structured_content or {}).get("results", [])}


# -- tools outside the policy, by any spelling ------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
def test_no_spelling_reaches_a_tool_outside_the_policy(rig, mode: str) -> None:
    runtime, sandbox, catalogue, allowed = rig
    forbidden = sorted(catalogue - allowed) + sorted(META)
    refusals = Refusals(sandbox)
    started = time.perf_counter()
    with (
        driven(build_stdio_server(runtime, "hr"), mode) as hr,
        driven(build_stdio_server(runtime, "hr_finder"), mode) as finder,
    ):
        listed = {t.name for t in hr.list_tools()} - {"ops_list_events"}
        meta = {t.name for t in finder.list_tools()} - {"ops_list_events"}
        assert listed == allowed, listed ^ allowed
        assert meta == META
        # Nothing in the list is a look-alike of a forbidden tool either.
        assert not {skeleton(n) for n in listed} & {skeleton(n) for n in catalogue - allowed}

        def attempt(name: str, kind: str) -> None:
            if name in allowed:
                return
            before = sandbox.count
            refusals.expect(kind, name, hr.call(name, {}), before, _unknown)
            refusals.expect(kind, name, finder.call(CALL, {"name": name, "arguments": {}}), before, _unknown)
            refusals.expect(kind, name, finder.call(DESCRIBE, {"name": name}), before, _unknown)
            found = finder.call(SEARCH, {"query": name, "limit": 10})
            refusals.expect(
                kind,
                name,
                found,
                before,
                lambda r: (
                    None if _search_names(r) <= allowed else f"search shows {_search_names(r) - allowed}"
                ),
            )

        # Every forbidden tool by its exact name and by every fixed spelling; every allowed tool by every
        # spelling that is not exactly its name; then hypothesis-drawn combinations.
        for name in forbidden:
            attempt(name, "exact name")
        for name in [*forbidden, *sorted(allowed)][:: FIXED_STEP[mode]]:
            for label, transform in FIXED.items():
                attempt(transform(name), f"fixed:{label}")
        for endpoint in runtime.policy("hr").endpoints.values():
            if endpoint.tool not in allowed:
                found = finder.call(
                    SEARCH, {"query": f"{endpoint.title} {endpoint.summary}"[:400], "limit": 10}
                )
                refusals.expect(
                    "search by title+summary",
                    endpoint.tool,
                    found,
                    sandbox.count,
                    lambda r: None if _search_names(r) <= allowed else f"shows {_search_names(r) - allowed}",
                )

        @_settings(SPELLINGS[mode])
        @given(st.sampled_from(forbidden + sorted(allowed)).flatmap(spelling))
        def drawn(name: str) -> None:
            attempt(name, "hypothesis")

        drawn()
    tried = sum(refusals.tried.values())
    passed = not refusals.failures
    record(
        "3",
        f"tools outside the policy, in process ({mode})",
        tried=tried,
        outcome="every spelling unknown to call/describe/ops_call_tool, never in list or search; 0 upstream"
        if passed
        else f"{len(refusals.failures)} failures",
        passed=passed,
        forbidden_tools=len(forbidden),
        allowed_tools=len(allowed),
        fixed_spellings=len(FIXED),
        **{
            k.replace(" ", "_").replace(":", "_").replace("+", "_"): v
            for k, v in sorted(refusals.tried.items())
            if not k.startswith("fixed:")
        },
        fixed_spelling_cases=sum(v for k, v in refusals.tried.items() if k.startswith("fixed:")),
        seconds=round(time.perf_counter() - started, 1),
    )
    assert passed, "\n".join(refusals.failures[:20])


def test_an_agent_without_areas_sees_and_runs_nothing(rig) -> None:
    runtime, sandbox, catalogue, _ = rig
    refusals = Refusals(sandbox)
    with driven(build_stdio_server(runtime, "nobody"), "legacy") as nobody:
        listed = {t.name for t in nobody.list_tools()}
        for name in sorted(catalogue | META):
            refusals.expect("call", name, nobody.call(name, {}), sandbox.count, _unknown)
    passed = not refusals.failures and not listed
    record(
        "3",
        "agent with no areas",
        tried=sum(refusals.tried.values()),
        outcome="lists nothing, every tool unknown, 0 upstream" if passed else "FAILED",
        passed=passed,
        listed=len(listed),
    )
    assert not listed
    assert passed, "\n".join(refusals.failures[:20])


# -- another tenant's ids --------------------------------------------------------------------------------


def test_a_tenant_bound_agent_cannot_read_or_change_another_tenants_objects(rig) -> None:
    runtime, sandbox, _, _ = rig
    credentials = {(t.backend, t.name): t.connection.token for t in runtime.tenants.all()}
    own = {f"Bearer {credentials[('remote', 'acme')]}", f"Bearer {credentials[('remoteops', 'northwind')]}"}
    with (
        driven(build_stdio_server(runtime, "globex_hr"), "legacy") as globex,
        driven(build_stdio_server(runtime, "contoso_dispatch"), "legacy") as contoso,
    ):
        employments = globex.call("remote_list_employments", {"page_size": 10}).structured_content[
            "employments"
        ]
        timeoffs = globex.call("remote_list_timeoff", {"status": "requested", "page_size": 5})
        timeoffs = timeoffs.structured_content["timeoffs"]
        orders = contoso.call("remoteops_list_work_orders", {"limit": 10}).structured_content["data"]
        before_state = {
            t["id"]: globex.call("remote_get_timeoff", {"id": t["id"]}).structured_content for t in timeoffs
        }
        before_orders = {
            o["id"]: contoso.call("remoteops_get_work_order", {"work_order_id": o["id"]}).structured_content[
                "status"
            ]
            for o in orders
        }
    assert employments and timeoffs and orders

    leaks, tried, not_found = [], 0, 0
    start = len(sandbox.seen)

    def check(result: Any, secrets: list[str], label: str, *, must_fail: bool = True) -> None:
        nonlocal tried, not_found
        tried += 1
        text = text_of(result) + json.dumps(result.structured_content or {})
        if must_fail and not result.is_error:
            leaks.append(f"{label}: succeeded: {text[:200]}")
        if must_fail and result.is_error and ("no " in text or "not found" in text.lower()):
            not_found += 1
        shown = [s for s in secrets if s and s in text]
        if shown:
            leaks.append(f"{label}: shows {shown}")

    with (
        driven(build_stdio_server(runtime, "hr"), "legacy") as hr,
        driven(build_stdio_server(runtime, "dispatch"), "legacy") as dispatch,
    ):
        for e in employments:
            private = [e.get("full_name"), e.get("work_email"), e.get("personal_email"), e.get("short_id")]
            check(
                hr.call("remote_get_employment", {"employment_id": e["id"]}),
                private,
                f"get employment {e['id']}",
            )
            listed = hr.call("remote_list_timeoff", {"employment_id": e["id"], "page_size": 50})
            check(listed, [e["id"], *private], f"timeoff of employment {e['id']}", must_fail=False)
        for t in timeoffs:
            check(
                hr.call("remote_get_timeoff", {"id": t["id"]}), [t["employment_id"]], f"get timeoff {t['id']}"
            )
            check(
                hr.call("remote_approve_timeoff", {"timeoff_id": t["id"], "approver_id": t["employment_id"]}),
                [t["employment_id"]],
                f"approve timeoff {t['id']}",
            )
        for o in orders:
            private = [o.get("number"), o.get("summary"), o.get("customer_id"), o.get("site_id")]
            check(
                dispatch.call("remoteops_get_work_order", {"work_order_id": o["id"]}),
                private,
                f"get {o['id']}",
            )
            check(
                dispatch.call(
                    "remoteops_transition_work_order",
                    {"work_order_id": o["id"], "to": "cancelled", "reason": "isolation test"},
                ),
                private,
                f"transition {o['id']}",
            )
            listed = dispatch.call(
                "remoteops_list_work_orders", {"customer_id": o["customer_id"], "limit": 50}
            )
            check(listed, [o["id"], *private], f"work orders of customer {o['customer_id']}", must_fail=False)
    used = {s.authorization for s in sandbox.seen[start:]}
    with (
        driven(build_stdio_server(runtime, "globex_hr"), "legacy") as globex,
        driven(build_stdio_server(runtime, "contoso_dispatch"), "legacy") as contoso,
    ):
        changed = [
            tid
            for tid, body in before_state.items()
            if globex.call("remote_get_timeoff", {"id": tid}).structured_content != body
        ]
        changed += [
            oid
            for oid, status in before_orders.items()
            if contoso.call("remoteops_get_work_order", {"work_order_id": oid}).structured_content["status"]
            != status
        ]
    passed = not leaks and not changed and used <= own
    record(
        "3",
        "another tenant's ids (Acme/Northwind agents, Globex/Contoso ids)",
        tried=tried,
        outcome="not found, no data shown, nothing changed" if passed else "FAILED",
        passed=passed,
        refused_not_found=not_found,
        upstream_requests=len(sandbox.seen) - start,
        all_with_own_tenant_credential=used <= own,
        tenant_b_objects_changed=len(changed),
    )
    assert not leaks, "\n".join(leaks[:20])
    assert not changed
    assert used <= own, "a request went upstream with another tenant's credential"


# -- over HTTP ------------------------------------------------------------------------------------------

CALL_LIST = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "remote_list_employments", "arguments": {"page_size": 1}},
}
ISSUER, AUDIENCE = "https://issuer.test", "https://ops-mcp.test/mcp"


@pytest.fixture(scope="module")
def http_rig(tmp_path_factory):
    state = tmp_path_factory.mktemp("isolation-http")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (state / "jwks.json").write_text(
        json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    )
    oauth = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_file": str(state / "jwks.json"),
        "agent_claim": "ops_mcp_agent",
    }
    runtime, sandbox = make_runtime(state / "state", AGENTS, server={"oauth": oauth}, sandbox=FAST)
    store = AgentTokenStore(runtime.state_dir)
    tokens = {agent: store.issue(agent) for agent in ("hr", "hr_finder", "dispatch", "temp")}
    with serve(runtime) as served:
        yield runtime, sandbox, served, tokens, key
    runtime.audit.close()


def _jwt(key: Any, *, alg: str = "RS256", kid: str = "k1", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-7",
        "ops_mcp_agent": "hr",
        "exp": now + 300,
        "iat": now,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _unsigned(**claims: Any) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "ops_mcp_agent": "hr", "exp": now + 300, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def test_http_credentials_that_are_not_the_callers_own_fail(http_rig) -> None:
    runtime, sandbox, served, tokens, key = http_rig
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hr = tokens["hr"]
    now = int(time.time())
    cases: dict[str, dict[str, str]] = {
        "no credential": {},
        "bearer without a token": {"Authorization": "Bearer"},
        "basic scheme": {"Authorization": "Basic " + base64.b64encode(b"hr:" + hr.encode()).decode()},
        "token scheme": {"Authorization": f"Token {hr}"},
        "made-up agent token": {"Authorization": "Bearer omcp_" + "A" * 43},
        "token + 1 char": {"Authorization": f"Bearer {hr}x"},
        "token truncated": {"Authorization": f"Bearer {hr[:-1]}"},
        "token upper-cased": {"Authorization": f"Bearer {hr.upper()}"},
        "token with zero-width char": {"Authorization": f"Bearer {hr[:10]}\u200b{hr[10:]}".encode()},
        "expired JWT": {"Authorization": f"Bearer {_jwt(key, exp=now - 3600, iat=now - 7200)}"},
        "JWT not yet valid": {"Authorization": f"Bearer {_jwt(key, nbf=now + 3600)}"},
        "JWT wrong audience": {"Authorization": f"Bearer {_jwt(key, aud='https://other.test/mcp')}"},
        "JWT wrong issuer": {"Authorization": f"Bearer {_jwt(key, iss='https://evil.test')}"},
        "JWT without exp": {"Authorization": f"Bearer {_jwt(key, exp=None)}"},
        "JWT signed by another key": {"Authorization": f"Bearer {_jwt(other_key)}"},
        "JWT alg none": {"Authorization": f"Bearer {_unsigned()}"},
        "JWT for an unknown agent": {"Authorization": f"Bearer {_jwt(key, ops_mcp_agent='root')}"},
        "JWT naming the agent only in sub": {
            "Authorization": f"Bearer {_jwt(key, ops_mcp_agent=None, sub='hr')}"
        },
    }
    results: dict[str, list[int]] = {}
    with httpx.Client(base_url=served.base, timeout=30) as http:
        # The valid credentials work (so the refusals below are about the credential, nothing else).
        assert (
            http.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {hr}"}).status_code
            == 200
        )
        assert (
            http.post(
                "/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {_jwt(key)}"}
            ).status_code
            == 200
        )
        temp = {**ACCEPT, "Authorization": f"Bearer {tokens['temp']}"}
        assert http.post("/mcp", json=INIT, headers=temp).status_code == 200
        assert AgentTokenStore(runtime.state_dir).revoke("temp")
        cases["revoked agent token"] = {"Authorization": f"Bearer {tokens['temp']}"}
        before = sandbox.count
        for label, auth in cases.items():
            statuses = [
                http.post("/mcp", json=INIT, headers={**ACCEPT, **auth}).status_code,
                http.post("/mcp", json=CALL_LIST, headers={**ACCEPT, **auth}).status_code,
                http.get("/sse", headers=auth).status_code,
                http.post(
                    "/messages/?session_id=" + "0" * 32, json=CALL_LIST, headers={**ACCEPT, **auth}
                ).status_code,
            ]
            results[label] = statuses
        upstream = sandbox.count - before
    wrong = {label: s for label, s in results.items() if set(s) != {401}}
    passed = not wrong and upstream == 0
    record(
        "3",
        "HTTP credentials: none, malformed, forged, expired, revoked",
        tried=4 * len(results),
        outcome="401 on /mcp, /sse and /messages/ for every one; 0 upstream" if passed else f"FAILED {wrong}",
        passed=passed,
        credential_kinds=len(results),
        upstream_requests=upstream,
    )
    assert not wrong, wrong
    assert upstream == 0


def _message(response: httpx.Response) -> dict:
    if "json" in response.headers.get("content-type", ""):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    return {}


RESET = 0  # the SDK's SSE endpoint answers 403 and then raises, so uvicorn may reset the connection first


def _sse_status(base: str, headers: dict) -> int:
    try:
        with httpx.Client(base_url=base, timeout=10) as fresh:
            return fresh.get("/sse", headers=headers).status_code
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return RESET


def test_http_another_agents_credential_and_foreign_origins_fail(http_rig) -> None:
    runtime, sandbox, served, tokens, _ = http_rig
    hr = {**ACCEPT, "Authorization": f"Bearer {tokens['hr']}"}
    dispatch = {**ACCEPT, "Authorization": f"Bearer {tokens['dispatch']}"}
    port = served.port
    outcomes: dict[str, int] = {}
    with httpx.Client(base_url=served.base, timeout=30) as http:
        opened = http.post("/mcp", json=INIT, headers=hr)
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        http.post(
            "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers={**hr, **session}
        )
        before = sandbox.count
        outcomes["dispatch token on hr's session"] = http.post(
            "/mcp", json=CALL_LIST, headers={**dispatch, **session}
        ).status_code
        own = http.post(
            "/mcp",
            json={**CALL_LIST, "params": {"name": "remoteops_list_work_orders", "arguments": {}}},
            headers={**hr, **session},
        )
        outcomes["hr calls dispatch's tool"] = 200 if _message(own)["result"]["isError"] else 999
        origins = [
            "http://evil.example",
            f"http://evil.example:{port}",
            "null",
            f"https://127.0.0.1:{port}",
            f"http://127.0.0.1.evil.example:{port}",
            f"http://localhost.evil.example:{port}",
            "file://",
            "http://[::2]:80",
            f"http://localhost.:{port}",
        ]
        for origin in origins:
            outcomes[f"Origin {origin}"] = http.post(
                "/mcp", json=INIT, headers={**hr, "Origin": origin}
            ).status_code
            outcomes[f"Origin {origin} (sse)"] = _sse_status(served.base, {**hr, "Origin": origin})
        for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
            outcomes[f"Host {host}"] = http.post("/mcp", json=INIT, headers={**hr, "Host": host}).status_code
        upstream = sandbox.count - before
    expected = {"dispatch token on hr's session": 404, "hr calls dispatch's tool": 200}
    wrong = {
        k: v
        for k, v in outcomes.items()
        if v != expected.get(k, 403 if k.startswith("Origin") else 421)
        and not (k.endswith("(sse)") and v == RESET)
    }
    passed = not wrong and upstream == 0
    record(
        "3",
        "HTTP: another agent's credential, foreign Origin and Host",
        tried=len(outcomes),
        outcome="session hijack 404, other agent's tool unknown, foreign Origin 403, foreign Host 421, "
        "0 upstream"
        if passed
        else f"FAILED {wrong}",
        passed=passed,
        origins=len(origins),
        upstream_requests=upstream,
        sse_connection_resets=sum(1 for v in outcomes.values() if v == RESET),
    )
    assert not wrong, wrong
    assert upstream == 0


@pytest.mark.parametrize(
    ("transport", "mode"), [("http", "legacy"), ("http", "2026-07-28"), ("sse", "legacy")]
)
def test_http_no_spelling_reaches_a_tool_outside_the_policy(http_rig, transport: str, mode: str) -> None:
    runtime, sandbox, served, tokens, _ = http_rig
    allowed = {e.tool for e in runtime.policy("hr").visible()}
    catalogue = {e.tool for m in runtime.catalogue.values() for e in m.endpoints}
    # `make test` tries every third forbidden name here, a different third per transport and era, so the
    # three runs together still try each name; the recorded figures try every name on every transport.
    stride = volume(1, 3)
    offset = [("http", "legacy"), ("http", "2026-07-28"), ("sse", "legacy")].index((transport, mode)) % stride
    forbidden = sorted(catalogue - allowed)[offset::stride]
    names = [*forbidden, *sorted(META)]
    # Every forbidden name in one or more fixed spellings, rotating so that every kind of spelling is used.
    every = volume(9, 24)
    spellings = [
        FIXED[label](name) for i, name in enumerate(forbidden) for label in list(FIXED)[i % len(FIXED) :: every]
    ]
    failures: list[str] = []
    tried = Counter()

    async def run() -> tuple[set[str], set[str], int]:
        async with (
            http_client(served.base, tokens["hr"], transport=transport, mode=mode) as hr,
            http_client(served.base, tokens["hr_finder"], transport=transport, mode=mode) as finder,
        ):
            listed = {t.name for t in (await hr.list_tools()).tools}
            meta = {t.name for t in (await finder.list_tools()).tools}
            before = sandbox.count
            for name in [*names, *spellings]:
                if name in allowed:
                    continue
                for who, tool, args in (
                    (hr, name, {}),
                    (finder, CALL, {"name": name, "arguments": {}}),
                    (finder, DESCRIBE, {"name": name}),
                ):
                    tried["call" if tool == name else tool] += 1
                    with anyio.fail_after(60):  # a bound on a hang, not an expectation of speed
                        result = await who.call_tool(tool, args)
                    if _unknown(result):
                        failures.append(f"{tool} {name!r}: {_unknown(result)}")
                tried[SEARCH] += 1
                found = await finder.call_tool(SEARCH, {"query": name, "limit": 10})
                if not _search_names(found) <= allowed:
                    failures.append(f"search {name!r} shows {_search_names(found) - allowed}")
            return listed, meta, sandbox.count - before

    listed, meta, upstream = anyio.run(run)
    listed -= {"ops_list_events"}
    meta -= {"ops_list_events"}
    passed = not failures and upstream == 0 and listed == allowed and meta == META
    record(
        "3",
        f"tools outside the policy over HTTP ({transport}, {mode})",
        tried=sum(tried.values()),
        outcome="list exact, every name/spelling unknown, search never shows it; 0 upstream"
        if passed
        else f"{len(failures)} failures, {upstream} upstream",
        passed=passed,
        names=len(names),
        spellings=len(spellings),
        **dict(tried),
    )
    assert listed == allowed and meta == META
    assert not failures, "\n".join(failures[:20])
    assert upstream == 0
