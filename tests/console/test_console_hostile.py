"""The console from the attacker's side, over real HTTP on loopback (no browser is needed for any of it).

State-changing routes are read from the console's own route table, so a route added later is covered
without touching this file: each is refused without a session, without the CSRF token (or with another
person's), and for every role that lacks its power — and nothing changes. Then: the session id is new at
each sign-in and dead after sign-out; text an agent chose (tool names, arguments, reasons) is escaped and
neutralised on every page that shows it; ``next=`` never leaves the console; every page carries the
security headers; and wrong passwords are throttled per name and per address, with one answer for a name
that has no account and a password that is wrong.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.routing import Mount, Route

from ops_mcp.console import people
from ops_mcp.console.people import POWERS
from ops_mcp.console.throttle import SigninThrottle
from ops_mcp.console.web import COOKIE, POWER_ATTRIBUTE
from ops_mcp.policy_store import agent_table
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.support.runtime import backend_state
from tests.support.seed import requested_timeoff

from .conftest import PEOPLE, console_of
from .support import HttpSession, csrf_of, in_thread, mcp_client

# Markup, quotes, a right-to-left override and isolate, line and paragraph separators, NEL, a C1 CSI and an
# ANSI escape: what an agent would send to forge or hide what a person reads.
HOSTILE = "<img src=x onerror=alert(1)>\"'&\u202eevil\u2066\u2028line\u2029para\x85nel\x9bcsi\x1b[31mred"
INVISIBLE = "\u202e\u2066\u2028\u2029\x85\x9b\x1b"


def console_routes(app: Any) -> list[Route]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    return [r for r in mount.app.routes if isinstance(r, Route)]


def state_changing(app: Any) -> list[Route]:
    """Every POST route but the sign-in form (which has no session yet; tested on its own below)."""
    return [r for r in console_routes(app) if "POST" in (r.methods or ()) and r.path != "/signin"]


def fill(path: str, approval_id: str) -> str:
    values = {"agent": "people-ops", "approval_id": approval_id, "seq": "1", "fmt": "csv"}
    return "/admin" + re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)


def pending_approval(served: Any, extra: dict[str, Any] | None = None) -> str:
    args, _ = requested_timeoff(served.runtime)

    async def ask() -> Any:
        async with mcp_client(served.url, served.tokens["hr-desk"]) as client:
            return await client.call_tool("remote_approve_timeoff", {**args, **(extra or {})})

    result = in_thread(ask)
    assert result.structured_content["status"] == "pending_approval", result.content
    return str(result.structured_content["approval_id"])


def snapshot(served: Any) -> tuple[Any, ...]:
    runtime = served.runtime
    return (
        {name: agent_table(runtime.policies[name]) for name in runtime.policies.names()},
        AgentTokenStore(runtime.state_dir).tokens(),
        [(a.id, a.status) for a in runtime.approvals.list(include_done=True)],
        len(runtime.audit.tail(100_000)),
    )


def test_every_state_changing_route_is_declared_with_the_power_it_needs(served):
    routes = state_changing(served.app)
    assert {r.path for r in routes} >= {"/access", "/agents", "/agents/{agent}", "/approvals/{approval_id}"}
    undeclared = [r.path for r in routes if not hasattr(r.endpoint, POWER_ATTRIBUTE)]
    assert undeclared == [], "POST routes must be made with web.change(power)"
    known = set().union(*POWERS.values())
    assert all(getattr(r.endpoint, POWER_ATTRIBUTE) in known | {None} for r in routes)


def test_no_state_change_without_a_session_or_without_the_sessions_csrf_token(served):
    approval_id = pending_approval(served)
    before = snapshot(served)
    dana = HttpSession(served.url, "dana", served.passwords["dana"])
    alex = HttpSession(served.url, "alex", served.passwords["alex"])
    anonymous = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    refused: list[str] = []
    for route in state_changing(served.app):
        path = fill(route.path, approval_id)
        form = {"level:remote.timeoff": "full", "decision": "approve", "name": "intruder"}
        for who, response in (
            ("anonymous", anonymous.post(path, data={**form, "csrf": dana.csrf})),
            ("no token", dana.post(path, form, csrf=False)),
            ("empty token", dana.http.post(path, data={**form, "csrf": ""})),
            ("another session's token", dana.http.post(path, data={**form, "csrf": alex.csrf})),
            ("a token in the query", dana.http.post(f"{path}?csrf={dana.csrf}", data=form)),
        ):
            expected = 303 if who == "anonymous" else 403
            if response.status_code != expected:
                refused.append(f"{route.path} {who}: {response.status_code}")
            elif who == "anonymous":
                assert response.headers["location"] == f"/admin/signin?next={quote(path, safe='')}"
            else:
                assert "CSRF" in response.text
    assert refused == []
    assert snapshot(served) == before
    assert dana.http.get("/admin/").status_code == 200  # a refused sign-out did not sign anyone out


def test_each_role_is_refused_every_route_its_role_lacks_the_power_for(served):
    approval_id = pending_approval(served)
    before = snapshot(served)
    sessions = {name: HttpSession(served.url, name, served.passwords[name]) for name in PEOPLE}
    table: list[tuple[str, str, str, int]] = []
    for route in state_changing(served.app):
        power = getattr(route.endpoint, POWER_ATTRIBUTE)
        for name, role in PEOPLE.items():
            if power is None or power in POWERS[role]:
                continue
            form = {"level:remote.timeoff": "full", "decision": "approve", "name": "intruder"}
            response = sessions[name].post(fill(route.path, approval_id), form)
            table.append((route.path, role, str(power), response.status_code))
            if response.status_code == 403:
                assert f"Your role ({role}) may not do this." in response.text
    assert table and all(status == 403 for *_, status in table), table
    # Every role meets at least one route it may not use: the table is not vacuous.
    assert {role for _, role, _, _ in table} == set(PEOPLE.values())
    assert snapshot(served) == before


def test_the_session_id_is_new_at_each_sign_in_and_dead_after_sign_out(served):
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)

    def sign_in(name: str) -> str:
        token = csrf_of(http.get("/admin/signin").text)
        done = http.post(
            "/admin/signin", data={"csrf": token, "name": name, "password": served.passwords[name]}
        )
        assert done.status_code == 303
        return str(done.cookies[COOKIE])

    # An attacker signs in and plants their own session cookie in the victim's browser.
    planted = HttpSession(served.url, "ada", served.passwords["ada"]).http.cookies[COOKIE]
    http.cookies.set(COOKIE, planted, path="/admin")
    mine = sign_in("dana")
    assert mine != planted
    attacker = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    attacker.cookies.set(COOKIE, planted, path="/admin")
    assert attacker.get("/admin/").status_code == 303  # the planted session ended at the victim's sign-in
    again = sign_in("dana")
    assert again != mine and len(again) >= 43
    page = http.get("/admin/")
    assert page.status_code == 200
    assert http.post("/admin/signout", data={"csrf": csrf_of(page.text)}).status_code == 303
    replay = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    replay.cookies.set(COOKIE, again, path="/admin")
    assert replay.get("/admin/").status_code == 303
    assert replay.post("/admin/access", data={"csrf": csrf_of(page.text)}).status_code == 303
    stored = people.SqliteConsoleStore(served.runtime.state_dir)
    assert stored.session(hashlib.sha256(again.encode()).hexdigest(), 0) is None
    assert stored.session(hashlib.sha256(mine.encode()).hexdigest(), 0) is None  # replaced at sign-in


def _hostile_calls(served: Any) -> str:
    """people-ops calls a tool by a hostile name; hr-desk asks to decline a time off with a hostile reason
    for an employee whose (upstream) name is hostile too. Returns the pending approval's id."""
    args, record = requested_timeoff(served.runtime)
    employments = backend_state(served.runtime, "remote").data["employments"]
    employments[record["employment_id"]]["full_name"] = f"Mallory {HOSTILE}"

    async def calls() -> Any:
        async with mcp_client(served.url, served.tokens["people-ops"]) as client:
            await client.call_tool(HOSTILE, {"note": HOSTILE})
        async with mcp_client(served.url, served.tokens["hr-desk"]) as client:
            return await client.call_tool(
                "remote_decline_timeoff", {"timeoff_id": args["timeoff_id"], "decline_reason": HOSTILE}
            )

    pending = in_thread(calls)
    assert pending.structured_content["status"] == "pending_approval", pending.content
    return str(pending.structured_content["approval_id"])


def test_agent_supplied_text_is_escaped_and_neutralised_on_every_page_that_shows_it(served):
    approval_id = _hostile_calls(served)
    ada = HttpSession(served.url, "ada", served.passwords["ada"])  # the auditor sees argument detail
    alex = HttpSession(served.url, "alex", served.passwords["alex"])
    audit = ada.http.get("/admin/audit").text
    details = sorted(set(re.findall(r'href="(/admin/audit/\d+)"', audit)))
    assert details
    pages = {
        "/admin/audit": audit,
        "/admin/live": ada.http.get("/admin/live").text,
        "/admin/approvals": alex.http.get("/admin/approvals").text,
        f"/admin/approvals/{approval_id}": alex.http.get(f"/admin/approvals/{approval_id}").text,
        **{path: ada.http.get(path).text for path in details},
    }
    showing = [path for path, html in pages.items() if "onerror=alert(1)" in html]
    # The hostile text reaches the audit list, a record's page, the live denials and the approval pages.
    assert "/admin/audit" in showing and f"/admin/approvals/{approval_id}" in showing
    assert "/admin/live" in showing and any(p.startswith("/admin/audit/") for p in showing)
    for path, html in pages.items():
        assert "<img" not in html, path
        assert not set(INVISIBLE) & set(html), (path, set(INVISIBLE) & set(html))
        if path in showing:
            assert "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;" in html, path
    # Shown where a person decides: the reordering and line-breaking characters as visible escapes.
    assert "\\u202eevil\\u2066\\u2028line" in pages[f"/admin/approvals/{approval_id}"]
    # What the approval page shows about the change names the reason, neutralised, not run.
    assert "decline" in pages[f"/admin/approvals/{approval_id}"].lower()


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "%2F%2Fevil.example/",
        "/%2F%2Fevil.example/",
        "https://evil.example/admin/",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)//admin/",
        "/admin//evil.example/",
        "/admin/\\evil.example/",
        "/\t/evil.example/",
        "/admin/\r\nLocation: https://evil.example/",
        " /admin/",
    ],
)
def test_next_never_leaves_the_console(served, target):
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    form = http.get("/admin/signin", params={"next": target})
    assert 'name="next" value="/admin/"' in form.text  # the form does not even carry it
    done = http.post(
        "/admin/signin",
        data={"csrf": csrf_of(form.text), "name": "dana", "password": served.passwords["dana"], "next": target},
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/"


def test_a_console_path_in_next_is_kept(served):
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    form = http.get("/admin/signin", params={"next": "/admin/audit?agent=hr-desk"})
    done = http.post(
        "/admin/signin",
        data={
            "csrf": csrf_of(form.text),
            "name": "dana",
            "password": served.passwords["dana"],
            "next": "/admin/audit?agent=hr-desk",
        },
    )
    assert done.headers["location"] == "/admin/audit?agent=hr-desk"


def test_every_page_carries_the_security_headers_and_secrets_are_never_cached(served):
    approval_id = pending_approval(served)
    dana = HttpSession(served.url, "dana", served.passwords["dana"])
    anonymous = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    responses: dict[str, httpx.Response] = {}
    for route in console_routes(served.app):
        if "GET" in (route.methods or ()):
            path = fill(route.path, approval_id)
            responses[path] = dana.http.get(path)
            responses[f"anonymous {path}"] = anonymous.get(path)
    responses["not found"] = dana.http.get("/admin/no-such-page")
    issued = dana.post("/admin/agents/people-ops/token", {})
    assert issued.status_code == 200 and "omcp_" in issued.text
    responses["the token, shown once"] = issued
    responses["the sign-in page (password)"] = anonymous.get("/admin/signin")
    responses["a refused sign-in"] = anonymous.post("/admin/signin", data={"name": "dana", "password": "x"})
    for what, response in responses.items():
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, what
        assert "script-src" not in csp and "'unsafe-inline'" not in csp, what
        assert response.headers.get("x-frame-options") == "DENY", what
        assert response.headers.get("referrer-policy") == "no-referrer", what
        assert response.headers.get("x-content-type-options") == "nosniff", what
        if not what.endswith("/admin/static/console.css"):
            assert response.headers.get("cache-control") == "no-store", what


# -- throttling ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt(http: httpx.Client, name: str, password: str) -> httpx.Response:
    token = csrf_of(http.get("/admin/signin").text)
    return http.post("/admin/signin", data={"csrf": token, "name": name, "password": password})


def problem_of(response: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', response.text)
    return found.group(1) if found else ""


def test_wrong_passwords_lock_the_name_with_a_growing_delay_and_the_right_one_waits_too(served):
    clock = Clock()
    console_of(served.app).web.throttle = SigninThrottle(clock, free=3, base=2.0, cap=60.0)
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    for _ in range(3):
        assert attempt(http, "dana", "wrong").status_code == 401
    locked = attempt(http, "dana", served.passwords["dana"])  # the right password, while locked
    assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
    assert problem_of(locked) == "Too many failed sign-ins. Try again in 2 seconds."
    assert COOKIE not in locked.cookies
    clock.now += 2
    assert attempt(http, "dana", "wrong again").status_code == 401
    assert attempt(http, "dana", served.passwords["dana"]).headers["retry-after"] == "4"  # doubled
    clock.now += 4
    signed_in = attempt(http, "dana", served.passwords["dana"])
    assert signed_in.status_code == 303 and COOKIE in signed_in.cookies


def test_an_unknown_name_gets_the_same_answer_at_the_same_cost_as_a_wrong_password(served, monkeypatch):
    clock = Clock()
    console_of(served.app).web.throttle = SigninThrottle(clock, free=2, base=8.0, forget=60.0)
    costs: list[tuple[int, int, int]] = []
    real = hashlib.scrypt

    def counted(password: bytes, **kwargs: Any) -> bytes:
        costs.append((kwargs["n"], kwargs["r"], kwargs["p"]))
        return real(password, **kwargs)

    monkeypatch.setattr(people.hashlib, "scrypt", counted)
    answers = {}
    for name in ("dana", "nobody-here"):
        http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
        wrong = [attempt(http, name, "wrong") for _ in range(2)]
        locked = attempt(http, name, "wrong")
        answers[name] = [(r.status_code, problem_of(r), r.headers.get("retry-after")) for r in (*wrong, locked)]
        clock.now += 3600  # both the name and the address are free again
    assert answers["dana"] == answers["nobody-here"]
    assert answers["dana"][-1] == (429, "Too many failed sign-ins. Try again in 8 seconds.", "8")
    assert costs == [(2**14, 8, 1)] * 4  # one full scrypt per checked attempt, none while locked


def test_one_address_guessing_across_names_is_throttled_as_a_whole(served):
    clock = Clock()
    console_of(served.app).web.throttle = SigninThrottle(clock, free=3, base=5.0)
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    for name in ("erin", "frank", "gus"):
        assert attempt(http, name, "guess").status_code == 401
    assert attempt(http, "dana", served.passwords["dana"]).status_code == 429  # a fresh name, same address
    clock.now += 5
    assert attempt(http, "dana", served.passwords["dana"]).status_code == 303


def test_the_throttle_grows_exponentially_up_to_its_cap_forgets_and_stays_bounded():
    clock = Clock()
    throttle = SigninThrottle(clock, free=2, base=1.0, cap=30.0, forget=100.0, max_keys=50)
    waits = []
    for _ in range(9):
        throttle.failed("dana", "10.0.0.1")
        waits.append(throttle.wait("dana", "10.0.0.9"))  # the name's lock, from another address
        clock.now += waits[-1]
    assert waits == [0, 1, 2, 4, 8, 16, 30, 30, 30]
    throttle.failed("erin", "10.0.0.1")
    assert throttle.wait("zed", "10.0.0.1") == 30  # the address is locked for every name
    throttle.succeeded("dana")
    assert throttle.wait("dana", "10.0.0.9") == 0 and throttle.wait("dana", "10.0.0.1") == 30
    clock.now += 131
    assert throttle.wait("erin", "10.0.0.1") == 0  # long after the last failure: forgotten
    for i in range(10_000):
        throttle.failed(f"name-{i}" + "x" * 500, f"10.1.{i // 256}.{i % 256}")
    assert throttle.size() <= 100  # two tables of at most max_keys each
    assert all(len(key) <= 65 for key in throttle.names.counts)


def test_only_the_console_can_make_a_page_say_something(served):
    dana = HttpSession(served.url, "dana", served.passwords["dana"])
    alex = HttpSession(served.url, "alex", served.passwords["alex"])
    spoof = "Your session expired. Sign in again at https://evil.example/admin"
    forged = dana.http.get("/admin/access", params={"done": spoof, "mac": "0" * 64})
    assert forged.status_code == 200 and spoof not in forged.text and 'role="status"' not in forged.text
    saved = dana.post("/admin/agents/people-ops", {"level:remote.timeoff": "read"})
    genuine = dana.http.get(saved.headers["location"])
    assert 'role="status">Saved: ' in genuine.text
    # The same link opened in another person's session says nothing: the MAC is keyed by the session.
    assert 'role="status"' not in alex.http.get(saved.headers["location"]).text


def test_exports_defuse_spreadsheet_formulas_and_only_the_auditor_gets_argument_detail(served):
    formula = '=HYPERLINK("https://evil.example","click")'

    args, _ = requested_timeoff(served.runtime)

    async def calls() -> None:
        async with mcp_client(served.url, served.tokens["people-ops"]) as client:
            await client.call_tool(formula, {})
            await client.call_tool("-2+3", {})
            await client.call_tool("+cmd", {})
        async with mcp_client(served.url, served.tokens["hr-desk"]) as client:
            reason = "@SUM(1+1)*cmd|' /C calc'!A0 detail-7a1"
            await client.call_tool(
                "remote_decline_timeoff", {"timeoff_id": args["timeoff_id"], "decline_reason": reason}
            )

    in_thread(calls)
    ada = HttpSession(served.url, "ada", served.passwords["ada"])
    alex = HttpSession(served.url, "alex", served.passwords["alex"])
    exported = ada.http.get("/admin/audit/export.csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="ops-mcp-audit.csv"'
    rows = list(csv.reader(io.StringIO(exported.text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert f"'{formula}" in cells and "'-2+3" in cells and "'+cmd" in cells
    assert "detail-7a1" in exported.text  # the auditor's export carries the argument detail
    for path in ("/admin/audit/export.csv", "/admin/audit/export.jsonl", "/admin/audit"):
        assert "detail-7a1" not in alex.http.get(path).text, path
    record = re.findall(r'href="(/admin/audit/\d+)"', ada.http.get("/admin/audit").text)[0]  # newest
    assert "detail-7a1" in ada.http.get(record).text and "detail-7a1" not in alex.http.get(record).text


def test_an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_itself():
    clock = Clock()
    throttle = SigninThrottle(clock, free=2, base=10.0)
    for i in range(2):
        throttle.failed(f"guess-{i}", f"2001:db8:1:2::{i + 1}")
    assert throttle.wait("anyone", "2001:db8:1:2:ffff::9") == 10  # same /64: one client
    assert throttle.wait("anyone", "2001:db8:1:3::1") == 0  # the next /64: another
    for i in range(2):
        throttle.failed(f"other-{i}", "::ffff:192.0.2.7")
    assert throttle.wait("anyone", "192.0.2.7") == 10


def test_an_anonymous_oversized_body_is_refused_before_any_form_is_parsed(served):
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=60)
    # Declared too large: refused on the headers alone (sent by hand, so no body needs to be written).
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as raw:
        raw.sendall(
            b"POST /admin/signin HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: "
            + CONTENT_TYPE.encode() + b"\r\nContent-Length: 2097152\r\n\r\n"
        )
        answer = b""
        while b"bytes." not in answer:
            chunk = raw.recv(65536)
            assert chunk, answer
            answer += chunk
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"at most 1048576 bytes" in text
    assert b"frame-ancestors 'none'" in head

    # Sent without a Content-Length (chunked): counted as it arrives. In process, through the console's
    # own ASGI app, so the refused rest of the body cannot race the answer on a socket.
    fed: list[int] = []

    async def chunks() -> Any:
        for _ in range(40):
            fed.append(1)
            yield b"a" * 65536

    async def send_chunked() -> httpx.Response:
        mount = next(r for r in served.app.routes if isinstance(r, Mount) and r.path == "/admin")
        transport = httpx.ASGITransport(app=mount.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            return await client.post("/signin", content=chunks(), headers={"content-type": CONTENT_TYPE})

    chunked = in_thread(send_chunked)
    assert chunked.status_code == 413 and "content-length" not in chunked.request.headers
    assert len(fed) == 17  # read up to the first chunk past 1 MiB, not one more
    # A real form still goes through.
    token = csrf_of(http.get("/admin/signin").text)
    ok = http.post("/admin/signin", data={"csrf": token, "name": "dana", "password": served.passwords["dana"]})
    assert ok.status_code == 303


CONTENT_TYPE = "application/x-www-form-urlencoded"


def test_the_sign_in_form_needs_its_own_token_bound_to_this_browser(served):
    victim = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    attacker = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    theirs = csrf_of(attacker.get("/admin/signin").text)
    victim.get("/admin/signin")  # the victim's browser holds a sign-in cookie of its own
    login = {"name": "dana", "password": served.passwords["dana"]}
    for data in ({**login}, {**login, "csrf": ""}, {**login, "csrf": theirs}):
        refused = victim.post("/admin/signin", data=data)
        assert refused.status_code == 403 and COOKIE not in refused.cookies
    fresh = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    assert fresh.post("/admin/signin", data={**login, "csrf": theirs}).status_code == 403  # no cookie at all


def test_a_guessing_run_is_logged_with_the_guessed_name_neutralised(served, caplog):
    console_of(served.app).web.throttle = SigninThrottle(Clock(), free=1, base=30.0)
    http = httpx.Client(base_url=served.url, follow_redirects=False, timeout=30)
    with caplog.at_level("WARNING", logger="ops_mcp.console"):
        assert attempt(http, "dana\nINFO forged line", "wrong").status_code == 401
    [line] = [r.getMessage() for r in caplog.records if "sign-in locked" in r.getMessage()]
    assert line == "console sign-in locked for 30s: name dana\\u000aINFO forged line from 127.0.0.1"


def test_a_browser_refuses_to_show_the_console_inside_another_page(served, page):
    """Clickjacking: Chromium itself honours frame-ancestors 'none' / X-Frame-Options (a real browser)."""
    console = f"{served.url}/admin/signin"
    page.set_content(f'<h1>Win a prize</h1><iframe name="bait" src="{console}"></iframe>')
    page.wait_for_load_state("load")
    framed = page.frame(name="bait")
    assert framed is not None
    assert framed.locator("input[name=password]").count() == 0  # the sign-in form never rendered inside
    # The same page opened directly renders, so the refusal above is the framing, not a broken page.
    page.goto(console)
    assert page.locator("input[name=password]").count() == 1
