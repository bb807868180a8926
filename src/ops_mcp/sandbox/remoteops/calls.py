"""Calls and voice routing (§4 #30–33): read-only records from the VoIP ingest."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError, not_found
from ops_mcp.sandbox.remoteops.store import public
from ops_mcp.sandbox.remoteops.values import iso

DIRECTIONS = ("inbound", "outbound")
STATUSES = ("ringing", "in_progress", "completed", "no_answer", "busy", "failed", "voicemail")
RECORDING_TTL = timedelta(minutes=15)


async def list_calls(ctx: Ctx) -> Reply:
    asset, site, customer = ctx.q_str("asset_id"), ctx.q_str("site_id"), ctx.q_str("customer_id")
    direction = ctx.q_str("direction", DIRECTIONS)
    status = ctx.q_list("status", STATUSES)
    from_number = ctx.q_str("from_number")
    after, before = ctx.q_datetime("started_after"), ctx.q_datetime("started_before")
    has_wo = ctx.q_bool("has_work_order")
    ctx.check_query()

    def keep(c: dict[str, Any]) -> bool:
        return ((not asset or c.get("asset_id") == asset) and (not site or c.get("site_id") == site)
                and (not customer or c.get("customer_id") == customer)
                and (not direction or c["direction"] == direction) and (not status or c["status"] in status)
                and (not from_number or c["from_number"] == from_number)
                and (not after or c["started_at"] > after) and (not before or c["started_at"] < before)
                and (has_wo is None or bool(c.get("work_order_ids")) == has_wo))

    rows = [c for c in ctx.tenant.col("calls").values() if keep(c)]
    return list_reply(ctx, rows, sort="-started_at")


async def get_call(ctx: Ctx) -> Reply:
    return Reply(public(ctx.tenant.get("calls", ctx.pid)))


async def get_transcript(ctx: Ctx) -> Reply:
    call = ctx.tenant.get("calls", ctx.pid)
    if call["transcript_status"] == "pending":
        raise ApiError(404, "transcript-not-ready",
                       "The transcript is still being produced; retry in a minute (call.transcript_ready fires "
                       "when it is done).", retry_after_seconds=60, headers={"Retry-After": "60"})
    transcript = ctx.tenant.find("transcripts", call["id"])
    if transcript is None:
        raise not_found("transcript", call["id"])
    return Reply(public(transcript))


async def get_recording(ctx: Ctx) -> Reply:
    call = ctx.tenant.get("calls", ctx.pid)
    if not call.get("has_recording"):
        raise not_found("recording", call["id"])
    expires = ctx.now + RECORDING_TTL
    expires_epoch = int(expires.timestamp())
    signature = hmac.new(b"sandbox-recordings", f"{call['id']}:{expires_epoch}".encode(), hashlib.sha256).hexdigest()
    url = (f"https://recordings.sandbox.remoteops.example/{ctx.tenant.id}/{call['id']}.mp3"
           f"?expires={expires_epoch}&signature={signature[:32]}")
    return Reply({"object": "recording", "call_id": call["id"], "format": "mp3",
                  "duration_seconds": call["duration_seconds"], "url": url, "expires_at": iso(expires)})


OPERATIONS = [
    Operation("GET", "/calls", "listCalls", "safe", list_calls),
    Operation("GET", "/calls/{call_id}", "getCall", "safe", get_call),
    Operation("GET", "/calls/{call_id}/transcript", "getCallTranscript", "safe", get_transcript),
    Operation("GET", "/calls/{call_id}/recording", "getCallRecording", "safe", get_recording),
]
