"""Work-order endpoints (§4 #1–8): list, create, read, update, assign, transition, timeline, attachments."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from ops_mcp.sandbox.remoteops import inventory, workflow
from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError, validation_failed
from ops_mcp.sandbox.remoteops.store import Tenant, public
from ops_mcp.sandbox.remoteops.timeline import TIMELINE_TYPES, add_entry
from ops_mcp.sandbox.remoteops.validation import Body
from ops_mcp.sandbox.remoteops.values import iso

ORIGIN_TYPES = ("manual", "call", "portal", "api")
ATTACHMENT_KINDS = ("photo", "document", "signature")
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/svg+xml", "application/pdf")
ATTACHMENT_URL_TTL = timedelta(minutes=15)
SORTS = ("created_at", "-created_at", "updated_at", "-updated_at", "sla_due_at", "-sla_due_at",
         "scheduled_start", "-scheduled_start")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def etag(obj: dict[str, Any]) -> str:
    return f'"{obj["version"]}"'


def check_if_match(ctx: Ctx, obj: dict[str, Any]) -> None:
    header = ctx.request.headers.get("if-match")
    if header is None:
        return
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    if "*" not in tags and etag(obj) not in tags:
        raise ApiError(412, "precondition-failed",
                       f"If-Match {header} does not match the current version {etag(obj)}; re-read and retry.",
                       current_version=obj["version"])


def touch(ctx: Ctx, obj: dict[str, Any]) -> None:
    obj["version"] = obj.get("version", 0) + 1
    obj["updated_at"] = iso(ctx.now)


def view(ctx: Ctx, wo: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    state = workflow.sla_state(wo, ctx.now)
    wo["sla"]["state"] = state
    if state == "breached" and not wo.get("_sla_breach_notified"):
        wo["_sla_breach_notified"] = True  # work_order.sla_breached fires once
        ctx.emit("work_order.sla_breached", wo)
    out = public(wo)
    out["allowed_transitions"] = workflow.allowed_transitions(tenant, wo)
    return out


def read_metadata(body: Body, current: dict[str, Any]) -> dict[str, Any]:
    """Up to 20 string pairs; on update a null value removes the key."""
    raw = body.raw("metadata")
    if raw is None:
        return dict(current)
    if not isinstance(raw, dict):
        body.error("metadata", "type", "must be an object of string values")
        return dict(current)
    merged = dict(current)
    for key, value in raw.items():
        if len(key) > 40 or (value is not None and (not isinstance(value, str) or len(value) > 500)):
            body.error(f"metadata/{key}", "invalid", "keys ≤ 40 characters, values strings ≤ 500 characters")
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 20:
        body.error("metadata", "too-many", "at most 20 keys")
    return merged


def assignment_details(assignment: dict[str, Any], from_status: str | None = None) -> dict[str, Any]:
    details = {k: assignment[k] for k in ("technician_ids", "lead_technician_id", "scheduled_start", "scheduled_end")}
    if from_status:
        details["from_status"] = from_status
    return details


def _assignment_matches(wo: dict[str, Any], tech_id: str | None) -> bool:
    return bool(tech_id and wo.get("assignment") and tech_id in wo["assignment"]["technician_ids"])


async def list_work_orders(ctx: Ctx) -> Reply:
    statuses = ctx.q_list("status", workflow.STATUSES)
    tech = ctx.q_str("technician_id")
    customer, site, asset, contract = (ctx.q_str(n) for n in ("customer_id", "site_id", "asset_id", "contract_id"))
    priority = ctx.q_list("priority", workflow.PRIORITIES)
    sla_before, sla_after = ctx.q_datetime("sla_due_before"), ctx.q_datetime("sla_due_after")
    sla_state = ctx.q_list("sla_state", ("on_track", "at_risk", "breached"))
    sched_from, sched_to = ctx.q_datetime("scheduled_from"), ctx.q_datetime("scheduled_to")
    updated_after = ctx.q_datetime("updated_after")
    text = (ctx.q_str("q") or "").lower()
    sort = ctx.q_str("sort", SORTS) or "-created_at"
    ctx.check_query()

    def keep(wo: dict[str, Any]) -> bool:
        start = (wo.get("assignment") or {}).get("scheduled_start")
        return (
            (not statuses or wo["status"] in statuses)
            and (not tech or _assignment_matches(wo, tech))
            and (not customer or wo["customer_id"] == customer)
            and (not site or wo["site_id"] == site)
            and (not asset or wo.get("asset_id") == asset)
            and (not contract or wo.get("contract_id") == contract)
            and (not priority or wo["priority"] in priority)
            and (not sla_before or wo["sla"]["due_at"] < sla_before)
            and (not sla_after or wo["sla"]["due_at"] > sla_after)
            and (not sla_state or workflow.sla_state(wo, ctx.now) in sla_state)
            and (not sched_from or (start is not None and start >= sched_from))
            and (not sched_to or (start is not None and start < sched_to))
            and (not updated_after or wo["updated_at"] > updated_after)
            and (not text or text in f"{wo['number']} {wo['summary']} {wo.get('description') or ''}".lower())
        )

    field = sort.lstrip("-")
    keys = {
        "sla_due_at": lambda wo: wo["sla"]["due_at"],
        "scheduled_start": lambda wo: (wo.get("assignment") or {}).get("scheduled_start"),
    }
    rows = [wo for wo in ctx.tenant.col("work_orders").values() if keep(wo)]
    return list_reply(ctx, rows, sort=sort, key=keys.get(field, lambda wo: wo.get(field)),
                      view=lambda wo: view(ctx, wo))


def read_assignment(ctx: Ctx, body: Body, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    tech_ids = body.str_list("technician_ids", required=True, min_items=1, max_items=10)
    lead = body.str("lead_technician_id", max_len=64)
    start = body.datetime("scheduled_start", required=True)
    end = body.datetime("scheduled_end", required=True)
    if tech_ids:
        for i, tech_id in enumerate(tech_ids):
            if ctx.tenant.find("technicians", tech_id) is None:
                body.error(f"technician_ids/{i}", "not-found", f"no technician '{tech_id}'")
        if lead and lead not in tech_ids:
            body.error("lead_technician_id", "invalid", "must be one of technician_ids")
    if start and end and start >= end:
        body.error("scheduled_end", "invalid", "must be after scheduled_start")
    if body.errors or not tech_ids or not start or not end:
        return None
    return {"technician_ids": list(dict.fromkeys(tech_ids)), "lead_technician_id": lead or tech_ids[0],
            "scheduled_start": iso(start), "scheduled_end": iso(end), "assigned_at": iso(ctx.now)}


def active_contract_for(tenant: Tenant, site_id: str, today: str) -> dict[str, Any] | None:
    for contract in tenant.col("contracts").values():
        if contract["site_id"] == site_id and contract["start_date"] <= today < contract["end_date"]:
            return contract
    return None


async def create_work_order(ctx: Ctx) -> Reply:
    body = ctx.body()
    body.only(("customer_id", "site_id", "asset_id", "contract_id", "summary", "description", "work_type",
               "priority", "billable", "requires_signature", "origin", "assignment", "metadata"))
    contract_id = body.str("contract_id", max_len=64)
    customer_id = body.str("customer_id", required=True, max_len=64)
    site_id = body.str("site_id", required=True, max_len=64)
    asset_id = body.str("asset_id", max_len=64)
    summary = body.str("summary", required=True, max_len=200)
    description = body.str("description", max_len=5000)
    work_type = body.str("work_type", enum=workflow.WORK_TYPES, default="repair")
    priority = body.str("priority", enum=workflow.PRIORITIES, default="normal")
    billable = body.bool("billable", default=True)
    requires_signature = body.bool("requires_signature", default=False)
    metadata = read_metadata(body, {})
    origin = body.obj("origin")
    origin_type, call = "api", None
    if origin is not None:
        origin_type = origin.str("type", required=True, enum=ORIGIN_TYPES) or "api"
        call_id = origin.str("call_id", max_len=64)
        if origin_type == "call":
            call = ctx.tenant.find("calls", call_id)
            if call is None:
                origin.error("call_id", "not-found", "a call-origin work order needs an existing call_id")
    tenant = ctx.tenant
    customer = tenant.find("customers", customer_id)
    site = tenant.find("sites", site_id)
    if customer_id and customer is None:
        body.error("customer_id", "not-found", f"no customer '{customer_id}'")
    if site_id and (site is None or (customer and site["customer_id"] != customer["id"])):
        body.error("site_id", "not-found", f"no site '{site_id}' for this customer")
    if asset_id:
        asset = tenant.find("assets", asset_id)
        if asset is None or (site and asset.get("site_id") not in (None, site["id"])):
            body.error("asset_id", "not-found", f"no asset '{asset_id}' at this site")
    assignment_body = body.obj("assignment")
    assignment = read_assignment(ctx, assignment_body) if assignment_body else None
    body.done()

    today = ctx.now.date().isoformat()
    contract = tenant.find("contracts", contract_id) if contract_id else active_contract_for(tenant, site_id, today)
    if contract_id and (contract is None or contract["site_id"] != site_id):
        raise validation_failed([{"pointer": "/contract_id", "code": "not-found",
                                  "detail": f"no contract '{contract_id}' covering this site"}])
    wo = workflow.new_work_order(
        ctx.state.ids, tenant, ctx.now, customer_id=customer_id, site_id=site_id, asset_id=asset_id,
        contract_id=contract["id"] if contract else None, summary=summary, description=description,
        work_type=work_type, priority=priority, billable=billable, requires_signature=requires_signature,
        origin={"type": origin_type, "call_id": call["id"] if call else None, "contract_id": None},
        assignment=assignment,
        metadata=metadata)
    ctx.state.effects["work_order"] += 1
    ctx.emit("work_order.created", wo)
    if assignment:
        add_entry(ctx.state, tenant, wo["id"], "assignment", assignment_details(assignment))
        ctx.emit("work_order.assigned", wo)
    if call is not None:
        call["work_order_ids"].append(wo["id"])
        call["routing_decisions"].append({"decided_at": iso(ctx.now), "decided_by": "dispatcher", "rule_id": None,
                                          "dispatcher_id": None, "action": "created_work_order",
                                          "work_order_id": wo["id"], "note": None})
        add_entry(ctx.state, tenant, wo["id"], "call_linked", {"call_id": call["id"]})
        ctx.emit("call.routed", call)
    out = view(ctx, wo)
    return Reply(out, 201, {"Location": ctx.url_for_path(f"/work-orders/{wo['id']}"), "ETag": etag(wo)})


async def get_work_order(ctx: Ctx) -> Reply:
    wo = ctx.tenant.get("work_orders", ctx.pid)
    return Reply(view(ctx, wo), headers={"ETag": etag(wo)})


async def update_work_order(ctx: Ctx) -> Reply:
    wo = ctx.tenant.get("work_orders", ctx.pid)
    body = ctx.body()
    if body.has("status"):
        body.error("status", "read-only", "PATCH never changes status; POST /work-orders/{work_order_id}/transitions")
    body.only(("summary", "description", "priority", "work_type", "metadata", "status"))
    changes: dict[str, Any] = {}
    for name, kwargs in (("summary", {"max_len": 200, "min_len": 1}), ("description", {"max_len": 5000}),
                         ("priority", {"enum": workflow.PRIORITIES}), ("work_type", {"enum": workflow.WORK_TYPES})):
        if body.has(name):
            value = body.str(name, required=name != "description", **kwargs)
            if value is not None or name == "description":
                changes[name] = value
    if body.has("metadata"):
        changes["metadata"] = read_metadata(body, wo["metadata"])
    body.done()
    check_if_match(ctx, wo)
    previous = {k: wo[k] for k, v in changes.items() if wo[k] != v}
    if previous:
        for name in previous:
            wo[name] = changes[name]
        if "priority" in previous:
            workflow.compute_sla(ctx.tenant, wo)  # SLA follows the priority
        touch(ctx, wo)
        ctx.emit("work_order.updated", wo, previous)
    return Reply(view(ctx, wo), headers={"ETag": etag(wo)})


async def assign_work_order(ctx: Ctx) -> Reply:
    wo = ctx.tenant.get("work_orders", ctx.pid)
    body = ctx.body()
    body.only(("technician_ids", "lead_technician_id", "scheduled_start", "scheduled_end"))
    assignment = read_assignment(ctx, body)
    body.done()
    assert assignment is not None
    if wo["status"] not in workflow.ASSIGNABLE:
        raise ApiError(409, "invalid-transition",
                       f"A work order in status '{wo['status']}' cannot be (re)assigned; only "
                       f"{', '.join(workflow.ASSIGNABLE)} can.",
                       allowed_transitions=workflow.allowed_transitions(ctx.tenant, wo), current_status=wo["status"])
    changed = assignment != wo.get("assignment")
    if changed or wo["status"] in ("new", "on_hold"):
        previous = {"assignment": wo.get("assignment"), "status": wo["status"]}
        from_status = wo["status"]
        wo["assignment"] = assignment
        # A dispatched work order drops back to scheduled when reassigned or rescheduled.
        wo["status"] = "scheduled"
        wo["hold_reason_code"] = None
        touch(ctx, wo)
        add_entry(ctx.state, ctx.tenant, wo["id"], "assignment", assignment_details(assignment, from_status))
        ctx.emit("work_order.assigned", wo, previous)
    return Reply(view(ctx, wo), headers={"ETag": etag(wo)})


async def transition_work_order(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    wo = tenant.get("work_orders", ctx.pid)
    body = ctx.body()
    body.only(("to", "expected_status", "reason_code", "cancelled_by", "note", "resolution", "parts_used"))
    to = body.str("to", required=True, enum=workflow.STATUSES)
    expected = body.str("expected_status", enum=workflow.STATUSES)
    reason_code = body.str("reason_code", enum=workflow.REASON_CODES)
    cancelled_by = body.str("cancelled_by", enum=workflow.CANCELLED_BY)
    note = body.str("note", max_len=2000)
    resolution = body.obj("resolution")
    summary = labor = None
    if resolution is not None:
        summary = resolution.str("summary", max_len=2000)
        labor = resolution.int("labor_minutes", minimum=0, maximum=10000)
    parts = body.obj_list("parts_used", max_items=50) or []
    parts_used = []
    for part in parts:
        part_id = part.str("part_id", required=True, max_len=64)
        quantity = part.int("quantity", required=True, minimum=1, maximum=10000)
        location_id = part.str("location_id", max_len=64)
        parts_used.append((part_id, quantity, location_id))
    body.done()

    current = wo["status"]
    if expected and expected != current:
        raise ApiError(409, "status-mismatch",
                       f"expected_status is '{expected}' but the work order is '{current}'; re-read it first.",
                       current_status=current, allowed_transitions=workflow.allowed_transitions(tenant, wo))
    allowed = workflow.allowed_transitions(tenant, wo)
    if to not in workflow.GRAPH[current]:
        raise ApiError(409, "invalid-transition", f"A work order cannot go from '{current}' to '{to}'.",
                       current_status=current, allowed_transitions=allowed)
    blocker = workflow.guard_blocker(tenant, wo, to)
    if blocker:
        raise ApiError(409, "invalid-transition", blocker, current_status=current, allowed_transitions=allowed)

    errors: list[dict[str, str]] = []
    if to == "on_hold" and reason_code not in workflow.HOLD_REASONS:
        errors.append({"pointer": "/reason_code", "code": "enum",
                       "detail": f"on_hold needs reason_code, one of: {', '.join(workflow.HOLD_REASONS)}"})
    if to == "cancelled":
        if reason_code not in workflow.CANCEL_REASONS:
            errors.append({"pointer": "/reason_code", "code": "enum",
                           "detail": f"cancelling needs reason_code, one of: {', '.join(workflow.CANCEL_REASONS)}"})
        if not cancelled_by:
            errors.append({"pointer": "/cancelled_by", "code": "required",
                           "detail": "cancelling needs cancelled_by: customer or provider"})
    if to == "in_progress" and current == "completed" and reason_code not in workflow.REOPEN_REASONS:
        errors.append({"pointer": "/reason_code", "code": "enum",
                       "detail": f"reopening needs reason_code, one of: {', '.join(workflow.REOPEN_REASONS)}"})
    if errors:
        raise validation_failed(errors)
    if to == "completed":
        missing = []
        if not summary:
            missing.append({"pointer": "/resolution/summary", "code": "required",
                            "detail": "completing needs resolution.summary"})
        if wo["requires_signature"] and not wo.get("signature_attachment_id"):
            missing.append({"pointer": "", "code": "signature-required",
                            "detail": "this work order requires a customer signature: POST an attachment of "
                                      "kind 'signature' first"})
        if missing:
            raise ApiError(422, "completion-requirements-not-met",
                           "; ".join(m["detail"] for m in missing), errors=missing)

    # Parts are consumed first: a 409 insufficient-stock leaves the work order untouched.
    lead = (wo.get("assignment") or {}).get("lead_technician_id")
    van = (tenant.find("technicians", lead) or {}).get("van_location_id")
    plan = inventory.plan_consumption(ctx, wo, [(p, q, loc or van) for p, q, loc in parts_used])
    for item in plan:
        inventory.apply_consumption(ctx, wo, *item)

    previous = {"status": current}
    wo["status"] = to
    now = iso(ctx.now)
    if to == "in_progress":
        if current == "dispatched":
            wo["started_at"] = now
        if current == "completed":
            wo["completed_at"] = None
            wo["reopen_reason"] = reason_code
        wo["hold_reason_code"] = None
    elif to == "on_hold":
        wo["hold_reason_code"] = reason_code
    elif to == "completed":
        wo["completed_at"] = now
        wo["resolution"] = {"summary": summary, "labor_minutes": labor or 0}
    elif to == "closed":
        wo["closed_at"] = now
    elif to == "cancelled":
        wo["cancelled_at"] = now
        wo["cancellation"] = {"reason_code": reason_code, "cancelled_by": cancelled_by, "note": note,
                              "cancelled_at": now}
    touch(ctx, wo)
    add_entry(ctx.state, tenant, wo["id"], "transition",
              {"from_status": current, "to_status": to, "reason_code": reason_code, "note": note})
    ctx.emit(f"work_order.{workflow.event_for(current, to)}", wo, previous)
    return Reply(view(ctx, wo), headers={"ETag": etag(wo)})


async def list_timeline(ctx: Ctx) -> Reply:
    wo = ctx.tenant.get("work_orders", ctx.pid)
    types = ctx.q_list("types", TIMELINE_TYPES)
    ctx.check_query()
    entries = [e for e in ctx.tenant.timeline.get(wo["id"], []) if not types or e["type"] in types]
    # Seeded history is added out of order; sort by time, then by insertion within a second.
    return list_reply(ctx, entries, sort="occurred_at", key=lambda e: f"{e['occurred_at']}#{e.get('_seq', 0):06d}")


async def _attachment_input(ctx: Ctx) -> tuple[Body, bytes | None, str | None, str | None]:
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        try:
            form = await ctx.request.form()
        except Exception:  # malformed multipart bodies are a client error, not a crash
            raise ApiError(400, "bad-request", "The multipart body could not be parsed.") from None
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        body = Body(fields)
        if upload is None or isinstance(upload, str):
            body.error("file", "required", "multipart uploads need a 'file' part")
            return body, None, None, None
        data = await upload.read()
        upload_type = (upload.content_type or "").split(";")[0].strip().lower()
        return body, data, upload.filename or "upload", upload_type
    body = ctx.body()
    encoded = body.str("content_base64", required=True, max_len=MAX_ATTACHMENT_BYTES * 2)
    decoded: bytes | None = None
    if encoded is not None:
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except ValueError:
            body.error("content_base64", "format", "must be base64")
    filename = body.str("filename", required=True, max_len=255)
    return body, decoded, filename, body.str("content_type", required=True, enum=ATTACHMENT_TYPES)


def _attachment_url(ctx: Ctx, attachment_id: str) -> tuple[str, str]:
    expires = ctx.now + ATTACHMENT_URL_TTL
    signature = hmac.new(b"sandbox-attachments", f"{attachment_id}:{int(expires.timestamp())}".encode(),
                         hashlib.sha256).hexdigest()[:32]
    url = (f"https://files.sandbox.remoteops.example/{ctx.tenant.id}/{attachment_id}"
           f"?expires={int(expires.timestamp())}&signature={signature}")
    return url, iso(expires) or ""


async def add_attachment(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    wo = tenant.get("work_orders", ctx.pid)
    body, data, filename, content_type = await _attachment_input(ctx)
    body.only(("kind", "filename", "content_type", "content_base64", "signer_name", "signer_role", "signed_at"))
    kind = body.str("kind", required=True, enum=ATTACHMENT_KINDS)
    signer_name = body.str("signer_name", max_len=200)
    signer_role = body.str("signer_role", max_len=100)
    signed_at = body.datetime("signed_at")
    if kind == "signature" and not signer_name:
        body.error("signer_name", "required", "a signature needs signer_name")
    if content_type and content_type not in ATTACHMENT_TYPES:
        body.error("file", "unsupported-type", f"content type must be one of: {', '.join(ATTACHMENT_TYPES)}")
    if data is not None and len(data) > MAX_ATTACHMENT_BYTES:
        body.error("content_base64", "too-large", "attachments are limited to 10 MB")
    body.done()
    if kind == "signature" and wo.get("signature_attachment_id"):
        raise ApiError(409, "signature-exists", "This work order already has a signature.",
                       existing_id=wo["signature_attachment_id"])
    data = data or b""
    attachment_id = ctx.state.ids.new("att")
    url, url_expires_at = _attachment_url(ctx, attachment_id)
    attachment = {
        "id": attachment_id, "object": "attachment", "livemode": False, "work_order_id": wo["id"], "kind": kind,
        "filename": filename or f"{kind}.bin", "content_type": content_type or "application/pdf",
        "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "url": url,
        "url_expires_at": url_expires_at,
        "signer": ({"name": signer_name, "role": signer_role, "signed_at": iso(signed_at or ctx.now)}
                   if kind == "signature" else None),
        "created_at": iso(ctx.now),
    }
    tenant.col("attachments")[attachment["id"]] = attachment
    wo["attachment_count"] = wo.get("attachment_count", 0) + 1
    if kind == "signature":
        wo["signature_attachment_id"] = attachment["id"]
        wo["signature_captured"] = True
    touch(ctx, wo)
    entry_type = "signature" if kind == "signature" else "attachment"
    add_entry(ctx.state, tenant, wo["id"], entry_type,
              {"attachment_id": attachment["id"], "kind": kind, "signer_name": signer_name})
    ctx.emit("work_order.signature_captured" if kind == "signature" else "work_order.attachment_added",
             attachment)
    return Reply(attachment, 201, {"Location": ctx.url_for_path(f"/work-orders/{wo['id']}/attachments/"
                                                                f"{attachment['id']}")})


OPERATIONS = [
    Operation("GET", "/work-orders", "listWorkOrders", "safe", list_work_orders),
    Operation("POST", "/work-orders", "createWorkOrder", "key-optional", create_work_order),
    Operation("GET", "/work-orders/{work_order_id}", "getWorkOrder", "safe", get_work_order),
    Operation("PATCH", "/work-orders/{work_order_id}", "updateWorkOrder", "idempotent", update_work_order),
    Operation("PUT", "/work-orders/{work_order_id}/assignment", "assignWorkOrder", "idempotent", assign_work_order),
    Operation("POST", "/work-orders/{work_order_id}/transitions", "transitionWorkOrder", "key-optional", transition_work_order),
    Operation("GET", "/work-orders/{work_order_id}/timeline", "listWorkOrderTimeline", "safe", list_timeline),
    Operation("POST", "/work-orders/{work_order_id}/attachments", "addWorkOrderAttachment", "key-optional", add_attachment,
              multipart=True),
]
