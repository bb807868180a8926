"""Deterministic, realistic seed data for the two sandbox tenants.

Everything comes from `random.Random(f"{seed}:{tenant}")` and a date anchor (today, or
`settings.seed_date`), so a given seed and day always give the same ids and records.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ops_mcp.sandbox.common.seed_copies import SeedCopies
from ops_mcp.sandbox.remoteops import contracts, signing, workflow
from ops_mcp.sandbox.remoteops.invoices import make_line, price_lines, work_order_lines
from ops_mcp.sandbox.remoteops.seed_catalog import TENANTS
from ops_mcp.sandbox.remoteops.store import RemoteOpsState, Tenant, public
from ops_mcp.sandbox.remoteops.timeline import add_entry
from ops_mcp.sandbox.remoteops.values import IdFactory, add_months, iso

# How seeded work orders are spread over the status machine (weights).
STATUS_WEIGHTS = {"new": 8, "scheduled": 10, "dispatched": 5, "in_progress": 8, "on_hold": 5, "completed": 14,
                  "closed": 38, "cancelled": 12}
OTHER_LOCALES = ("en", "fr", "nl", "pl", "it", "es", "sv", "pt")


class _Seeder:
    def __init__(self, state: RemoteOpsState, tenant_id: str, spec: dict[str, Any], anchor: datetime) -> None:
        self.state = state
        self.spec = spec
        self.anchor = anchor
        self.rng = random.Random(f"{state.settings.seed}:{tenant_id}")
        self.ids = IdFactory(self.rng)
        self.tenant = Tenant(tenant_id, spec["name"], spec["currency"], spec["tax_rate_bp"], spec["locale"],
                             spec["prefix"])

    # -- helpers ---------------------------------------------------------------------------------
    def ago(self, days: float, hours: float = 0) -> datetime:
        return self.anchor - timedelta(days=days, hours=hours)

    def phone(self) -> str:
        return self.spec["phone_prefix"] + "".join(self.rng.choices("0123456789", k=7))

    def address(self) -> dict[str, Any]:
        city, postal = self.rng.choice(self.spec["cities"])
        return {"line1": f"{self.rng.choice(self.spec['streets'])} {self.rng.randint(1, 240)}", "line2": None,
                "city": city, "region": None, "postal_code": postal, "country": self.spec["country"]}

    def put(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.tenant.col(collection)[obj["id"]] = obj
        return obj

    # -- people and places -------------------------------------------------------------------------
    def locations_and_staff(self) -> None:
        self.warehouses = []
        for name in ("Central warehouse", "North depot"):
            loc = self.put("locations", {"id": self.ids.new("loc"), "object": "stock_location", "type": "warehouse",
                                         "name": f"{self.spec['name']} {name}", "technician_id": None})
            self.warehouses.append(loc)
        self.technicians = []
        for i, name in enumerate(self.spec["technicians"]):
            tech_id = self.ids.new("tech")
            van = self.put("locations", {"id": self.ids.new("loc"), "object": "stock_location", "type": "van",
                                         "name": f"Van {i + 1:02d} ({name.split()[0]})", "technician_id": tech_id})
            status = "on_leave" if i == 5 else "inactive" if i == 11 else "active"
            created = iso(self.ago(self.rng.randint(200, 1500)))
            self.technicians.append(self.put("technicians", {
                "id": tech_id, "object": "technician", "livemode": False, "name": name,
                "email": name.lower().replace(" ", ".").replace("ü", "ue").replace("ö", "oe") + "@"
                         + self.spec["name"].split()[0].lower() + ".example",
                "phone": self.phone(), "status": status,
                "skills": self.rng.sample(self.spec["skills"], k=self.rng.randint(2, 4)),
                "van_location_id": van["id"], "timezone": self.spec["timezone"],
                "created_at": created, "updated_at": created}))
        self.active_techs = [t for t in self.technicians if t["status"] == "active"]

    def parts_and_stock(self) -> None:
        self.parts = []
        for name, sku, unit in self.spec["parts"]:
            cost = self.rng.randint(8, 400) * 100
            self.parts.append(self.put("parts", {
                "id": self.ids.new("part"), "object": "part", "sku": sku, "name": name, "unit": unit,
                "unit_cost": cost, "unit_price": int(cost * 1.6), "reorder_point": self.rng.choice((2, 3, 5, 10))}))
        rows = self.tenant.col("stock_levels")
        stamp = iso(self.ago(1))
        for loc in self.warehouses:
            for part in self.parts:
                on_hand = self.rng.choice((0, 1, 4, 12, 25, 40, 80))
                rows[f"{loc['id']}:{part['id']}"] = {"_key": f"{loc['id']}:{part['id']}", "part_id": part["id"],
                                                     "location_id": loc["id"], "on_hand": on_hand,
                                                     "reserved": min(on_hand, self.rng.choice((0, 0, 1, 2))),
                                                     "reorder_point": part["reorder_point"] * 2, "updated_at": stamp}
        for tech in self.technicians:
            for part in self.rng.sample(self.parts, k=6):
                key = f"{tech['van_location_id']}:{part['id']}"
                rows[key] = {"_key": key, "part_id": part["id"], "location_id": tech["van_location_id"],
                             "on_hand": self.rng.randint(0, 8), "reserved": 0, "reorder_point": 1, "updated_at": stamp}

    def customers_and_sites(self) -> None:
        self.customers, self.sites = [], []
        names = [(n, "business") for n in self.spec["customers"]] + [(n, "individual") for n in self.spec["individuals"]]
        for i, (name, kind) in enumerate(names):
            created = iso(self.ago(self.rng.randint(300, 1400)))
            locale = self.spec["locale"] if self.rng.random() < 0.8 else self.rng.choice(OTHER_LOCALES)
            slug = "".join(c for c in name.lower() if c.isascii() and c.isalnum())[:18]
            customer = self.put("customers", {
                "id": self.ids.new("cus"), "object": "customer", "livemode": False, "type": kind, "name": name,
                "email": f"facilities@{slug}.example" if kind == "business" else f"{slug}@mail.example",
                "phone": self.phone(), "billing_address": self.address(), "preferred_locale": locale,
                "tax_id": f"{self.spec['country']}{self.rng.randint(10**8, 10**9 - 1)}" if kind == "business" else None,
                "status": "inactive" if i % 17 == 16 else "active", "currency": self.tenant.currency,
                "created_at": created, "updated_at": created})
            self.customers.append(customer)
            count = self.rng.randint(10, 15) if i < 3 else 1 if kind == "individual" else self.rng.randint(1, 4)
            for n in range(count):
                address = self.address()
                site_name = "Home" if kind == "individual" else f"{name} – {address['city']} {n + 1}"
                self.sites.append(self.put("sites", {
                    "id": self.ids.new("site"), "object": "site", "livemode": False, "customer_id": customer["id"],
                    "name": site_name, "address": address,
                    "geo": {"lat": round(self.rng.uniform(29.0, 54.0), 5), "lng": round(self.rng.uniform(-98.0, 14.0), 5)},
                    "timezone": self.spec["timezone"],
                    "access_notes": self.rng.choice((None, "Key at reception", "Call caretaker on arrival",
                                                     "Machine room code 4711", "Loading dock entrance")),
                    "primary_contact": {"name": self.rng.choice(self.spec["technicians"]).split()[0] + " (caretaker)",
                                        "phone": self.phone(), "email": None},
                    "created_at": created, "updated_at": created}))

    def assets(self) -> None:
        self.site_assets: dict[str, list[dict[str, Any]]] = {}
        for site in self.sites:
            for _ in range(self.rng.randint(1, 3)):
                kind, maker, model = self.rng.choice(self.spec["asset_types"])
                installed = (self.anchor - timedelta(days=self.rng.randint(200, 6000))).date()
                voice = [self.phone()] if kind in ("lift", "fire_alarm") and self.rng.random() < 0.6 else []
                asset = self.put("assets", {
                    "id": self.ids.new("ast"), "object": "asset", "livemode": False, "ownership": "customer",
                    "type": kind, "manufacturer": maker, "model": model,
                    "serial_number": f"{maker[:2].upper()}-{self.rng.randint(100000, 999999)}",
                    "customer_id": site["customer_id"], "site_id": site["id"], "location_id": None,
                    "install_date": installed.isoformat(), "position": self.rng.choice(self.spec["positions"]),
                    "warranty_expires_on": add_months(installed, self.rng.choice((24, 36, 60))).isoformat(),
                    "voice_lines": voice, "status": "active",
                    "created_at": iso(self.ago(self.rng.randint(100, 900))), "updated_at": iso(self.ago(50))})
                self.site_assets.setdefault(site["id"], []).append(asset)
        self.equipment = []
        for name, maker in (("test_equipment", "Fluke"), ("tool", "Hilti"), ("test_equipment", "Testo"),
                            ("tool", "Makita"), ("test_equipment", "Megger")) * 2:
            loc = self.rng.choice(self.warehouses)
            self.equipment.append(self.put("assets", {
                "id": self.ids.new("ast"), "object": "asset", "livemode": False, "ownership": "company",
                "type": name, "manufacturer": maker, "model": f"{maker} {self.rng.randint(100, 999)}",
                "serial_number": f"EQ-{self.rng.randint(10000, 99999)}", "customer_id": None, "site_id": None,
                "location_id": loc["id"], "install_date": None, "position": None, "warranty_expires_on": None,
                "voice_lines": [], "status": "active", "created_at": iso(self.ago(400)), "updated_at": iso(self.ago(30))}))

    # -- contracts -------------------------------------------------------------------------------------
    def contracts(self) -> None:
        self.site_contract: dict[str, dict[str, Any]] = {}
        today = self.anchor.date()
        for site in self.rng.sample(self.sites, k=max(12, len(self.sites) // 3)):
            roll = self.rng.random()
            term = self.rng.choice((12, 24, 36))
            if roll < 0.72:  # active
                start = today - timedelta(days=self.rng.randint(20, term * 30 - 20))
            elif roll < 0.86:  # pending
                start = today + timedelta(days=self.rng.randint(5, 60))
            else:  # expired without renewal
                start = add_months(today, -term) - timedelta(days=self.rng.randint(10, 200))
            auto_renew = roll < 0.86 and self.rng.random() < 0.7
            assets = self.site_assets.get(site["id"], [])
            factor = self.rng.choice((1, 2, 3))
            contract = self.put("contracts", {
                "id": self.ids.new("ctr"), "object": "contract", "livemode": False,
                "number": f"CTR-{self.tenant.next_number('contract', 1001)}", "customer_id": site["customer_id"],
                "site_id": site["id"], "covered_asset_ids": [a["id"] for a in assets],
                "start_date": start.isoformat(), "term_months": term, "end_date": add_months(start, term).isoformat(),
                "sla": {"coverage": self.rng.choice(contracts.COVERAGE), "targets": {
                    p: {"response_hours": max(1, workflow.DEFAULT_RESPONSE_HOURS[p] // factor),
                        "resolution_hours": max(2, workflow.DEFAULT_RESOLUTION_HOURS[p] // factor)}
                    for p in workflow.PRIORITIES}},
                "visit_schedule": {"frequency": self.rng.choice(("monthly", "quarterly", "quarterly", "semiannual")),
                                   "work_type": "maintenance", "duration_minutes": self.rng.choice((60, 90, 120)),
                                   "generation_horizon_days": 30},
                "billing": {"cycle": self.rng.choice(("monthly", "quarterly", "annual")),
                            "amount": self.rng.randint(15, 400) * 1000, "currency": self.tenant.currency,
                            "mode": self.rng.choice(contracts.BILLING_MODES)},
                "renewal": {"auto_renew": auto_renew, "notice_days": self.rng.choice((30, 60, 90))},
                "version": 1, "created_at": iso(datetime.combine(min(start, today), datetime.min.time(), UTC)
                                                 - timedelta(days=14)),
                "updated_at": iso(self.ago(self.rng.randint(1, 60)))})
            contracts.refresh(self.tenant, contract, today, None)
            if contract["start_date"] <= today.isoformat() < contract["end_date"]:
                self.site_contract[site["id"]] = contract
            # Past visits were done (generated) or skipped; future ones stay planned.
            for visit in contract.get("_visits", []):
                if visit["due_date"] < today.isoformat():
                    visit["status"] = "generated" if self.rng.random() < 0.85 else "skipped"

    # -- work orders -------------------------------------------------------------------------------------
    def work_orders(self) -> None:
        statuses = list(STATUS_WEIGHTS)
        weights = list(STATUS_WEIGHTS.values())
        self.wos: list[dict[str, Any]] = []
        big_sites = [s for s in self.sites if s["customer_id"] in {c["id"] for c in self.customers[:3]}]
        for _ in range(self.state.settings.work_orders_per_tenant):
            status = self.rng.choices(statuses, weights)[0]
            site = self.rng.choice(big_sites if self.rng.random() < 0.35 else self.sites)
            self.wos.append(self.work_order(status, site))

    def work_order(self, status: str, site: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        age = {"new": (0, 3), "scheduled": (0, 6), "dispatched": (0, 2), "in_progress": (0, 4), "on_hold": (1, 12),
               "completed": (1, 20), "closed": (6, 150), "cancelled": (1, 90)}[status]
        created = self.ago(rng.uniform(*age), rng.uniform(0, 8))
        contract = self.site_contract.get(site["id"])
        assets = self.site_assets.get(site["id"], [])
        maintenance = contract is not None and rng.random() < 0.4
        work_type = "maintenance" if maintenance else rng.choice(("repair", "repair", "inspection", "emergency",
                                                                   "installation"))
        priority = "urgent" if work_type == "emergency" else rng.choice(("low", "normal", "normal", "high"))
        wo = workflow.new_work_order(
            self.ids, self.tenant, created, customer_id=site["customer_id"], site_id=site["id"],
            asset_id=rng.choice(assets)["id"] if assets and rng.random() < 0.85 else None,
            contract_id=contract["id"] if contract else None, summary=rng.choice(self.spec["summaries"]),
            description=rng.choice((None, "Reported by the caretaker.", "Customer asked for a morning slot.",
                                    "Second report this month.")),
            work_type=work_type, priority=priority, billable=not maintenance,
            requires_signature=rng.random() < 0.3,
            origin={"type": "contract", "contract_id": contract["id"]} if maintenance and contract is not None
            else {"type": rng.choice(("manual", "portal", "api", "call"))})
        wo["updated_at"] = iso(created)
        t = created
        system = {"type": "user", "id": None, "name": "Dispatcher"}

        def step(to: str, hours: float, **details: Any) -> None:
            nonlocal t
            t = min(t + timedelta(hours=hours), self.anchor - timedelta(minutes=5))
            add_entry(self.state, self.tenant, wo["id"], "transition",
                      {"from_status": wo["status"], "to_status": to, "reason_code": details.get("reason_code"),
                       "note": None}, at=iso(t), actor=system)
            wo["status"] = to
            wo["updated_at"] = iso(t)
            wo["version"] += 1

        if status == "cancelled" and rng.random() < 0.5:
            step("cancelled", rng.uniform(1, 30), reason_code="customer_request")
        elif status != "new":
            techs = rng.sample(self.active_techs, k=rng.choice((1, 1, 1, 2)))
            start = t + timedelta(hours=rng.uniform(2, 48))
            if status == "scheduled":
                start = self.anchor + timedelta(hours=rng.uniform(4, 96))
            wo["assignment"] = {"technician_ids": [x["id"] for x in techs], "lead_technician_id": techs[0]["id"],
                                "scheduled_start": iso(start), "scheduled_end": iso(start + timedelta(hours=2)),
                                "assigned_at": iso(t + timedelta(minutes=20))}
            wo["status"] = "scheduled"
            add_entry(self.state, self.tenant, wo["id"], "assignment",
                      {k: wo["assignment"][k] for k in ("technician_ids", "lead_technician_id", "scheduled_start",
                                                        "scheduled_end")}, at=wo["assignment"]["assigned_at"],
                      actor=system)
            path = {"scheduled": [], "dispatched": ["dispatched"], "in_progress": ["dispatched", "in_progress"],
                    "on_hold": ["dispatched", "in_progress", "on_hold"],
                    "completed": ["dispatched", "in_progress", "completed"],
                    "closed": ["dispatched", "in_progress", "completed", "closed"],
                    "cancelled": ["dispatched", "cancelled"]}[status]
            for to in path:
                if to == "in_progress":
                    step(to, rng.uniform(0.5, 3))
                    wo["started_at"] = wo["updated_at"]
                elif to == "on_hold":
                    step(to, rng.uniform(0.5, 2), reason_code="awaiting_parts")
                    wo["hold_reason_code"] = rng.choice(workflow.HOLD_REASONS)
                elif to == "completed":
                    if wo["requires_signature"]:
                        wo["signature_captured"] = True
                        wo["signature_attachment_id"] = self.ids.new("att")
                    step(to, rng.uniform(0.5, 5))
                    wo["completed_at"] = wo["updated_at"]
                    wo["resolution"] = {"summary": rng.choice(("Replaced faulty part and tested.",
                                                                "Adjusted and cleaned; running normally.",
                                                                "Inspection done, no defects found.")),
                                        "labor_minutes": rng.choice((30, 45, 60, 90, 120, 180))}
                    if rng.random() < 0.5:
                        part = rng.choice(self.parts)
                        wo["parts_used"].append({"part_id": part["id"], "sku": part["sku"], "quantity": rng.randint(1, 3),
                                                 "location_id": techs[0]["van_location_id"], "movement_id": None,
                                                 "unit_price": part["unit_price"]})
                elif to == "closed":
                    step(to, rng.uniform(24, 24 * 10))
                    wo["closed_at"] = wo["updated_at"]
                elif to == "cancelled":
                    step(to, rng.uniform(1, 24), reason_code="no_longer_needed")
                else:
                    step(to, rng.uniform(0.5, 24))
        if wo["status"] == "cancelled":
            wo["cancelled_at"] = wo["updated_at"]
            wo["cancellation"] = {"cancelled_by": rng.choice(workflow.CANCELLED_BY),
                                  "reason_code": rng.choice(workflow.CANCEL_REASONS), "note": None,
                                  "cancelled_at": wo["updated_at"]}
        wo["_sla_breach_notified"] = workflow.sla_state(wo, self.anchor) == "breached"
        return wo

    # -- invoices --------------------------------------------------------------------------------------
    def invoices(self) -> None:
        drafts: list[tuple[datetime, dict[str, Any]]] = []
        to_issue: list[tuple[datetime, dict[str, Any]]] = []
        billable = [w for w in self.wos if w["billable"] and w["status"] in ("completed", "closed")]
        for wo in billable:
            if wo["status"] == "completed" and self.rng.random() < 0.6:
                if self.rng.random() < 0.5:
                    drafts.append((datetime.fromisoformat(wo["completed_at"].replace("Z", "+00:00")), self.invoice([wo])))
                continue
            if wo["status"] == "closed":
                issued = datetime.fromisoformat(wo["closed_at"].replace("Z", "+00:00")) - timedelta(hours=2)
                to_issue.append((issued, self.invoice([wo])))
        for contract in list(self.tenant.col("contracts").values()):
            for cycle in contracts.billing_cycles(self.tenant, contract):
                start = date.fromisoformat(cycle["period_start"])
                if start > self.anchor.date() or (self.anchor.date() - start).days > 200:
                    continue
                issued = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=7)
                if self.rng.random() < 0.08:  # a duplicate that was voided, then billed again
                    void = self.invoice([], contract, cycle)
                    self.issue(void, issued - timedelta(days=1))
                    void["status"] = "void"
                    void["status_transitions"].update(voided_at=iso(issued), void_reason="Issued twice by mistake")
                    contract.setdefault("_invoiced", {}).pop(cycle["period_start"], None)
                to_issue.append((issued, self.invoice([], contract, cycle)))
        for at, invoice in sorted(to_issue, key=lambda pair: pair[0]):
            self.issue(invoice, min(at, self.anchor - timedelta(hours=1)))
            self.settle(invoice)
        for at, invoice in drafts:
            invoice["created_at"] = invoice["updated_at"] = iso(at)

    def invoice(self, wos: list[dict[str, Any]], contract: dict[str, Any] | None = None,
                cycle: dict[str, Any] | None = None) -> dict[str, Any]:
        tenant = self.tenant
        if wos:
            lines = [line for wo in wos for line in work_order_lines(tenant, wo)]
        else:
            assert contract is not None and cycle is not None
            lines = [make_line(f"{contract['number']} service {cycle['period_start']} – {cycle['period_end']}", 1,
                               cycle["amount"], tenant.tax_rate_bp / 100, contract_id=contract["id"],
                               period={"start": cycle["period_start"], "end": cycle["period_end"]})]
        for n, line in enumerate(lines, start=1):
            line["id"] = f"line_{n}"
        created = iso(self.anchor)
        invoice = self.put("invoices", {
            "id": self.ids.new("inv"), "object": "invoice", "livemode": False, "number": None, "status": "draft",
            "customer_id": wos[0]["customer_id"] if wos else contract["customer_id"],  # type: ignore[index]
            "currency": tenant.currency, "lines": lines, **price_lines(tenant, lines),
            "source": {"type": "work_orders" if wos else "contract_cycle", "work_order_ids": [w["id"] for w in wos],
                       "contract_id": contract["id"] if contract else None,
                       "period_start": cycle["period_start"] if cycle else None,
                       "period_end": cycle["period_end"] if cycle else None},
            "work_order_ids": [w["id"] for w in wos], "contract_id": contract["id"] if contract else None,
            "period_start": cycle["period_start"] if cycle else None, "due_days": 30, "due_date": None,
            "issued_at": None, "memo": None,
            "status_transitions": {"issued_at": None, "paid_at": None, "voided_at": None, "void_reason": None},
            "_payment_ids": [], "_credit_note_ids": [], "version": 1, "created_at": created, "updated_at": created})
        for wo in wos:
            wo["invoice_id"] = invoice["id"]
        if contract is not None and cycle is not None:
            contract.setdefault("_invoiced", {})[cycle["period_start"]] = invoice["id"]
        return invoice

    def issue(self, invoice: dict[str, Any], at: datetime) -> None:
        invoice["status"] = "open"
        invoice["number"] = f"{self.tenant.invoice_prefix}-{at.year}-{self.tenant.next_number('invoice_seq', 1):05d}"
        invoice["issued_at"] = invoice["status_transitions"]["issued_at"] = iso(at)
        invoice["due_date"] = (at.date() + timedelta(days=invoice["due_days"])).isoformat()
        invoice["created_at"] = iso(at - timedelta(hours=1))
        invoice["updated_at"] = iso(at)
        for wo_id in invoice["work_order_ids"]:
            add_entry(self.state, self.tenant, wo_id, "invoice_issued",
                      {"invoice_id": invoice["id"], "number": invoice["number"]}, at=iso(at))

    def settle(self, invoice: dict[str, Any]) -> None:
        rng = self.rng
        issued = datetime.fromisoformat(invoice["issued_at"].replace("Z", "+00:00"))
        age = (self.anchor - issued).days
        roll = rng.random()
        if age < 3 or roll < 0.2:
            if rng.random() < 0.15:
                self.credit_note(invoice, "pre_payment", issued + timedelta(days=1))
            if rng.random() < 0.3:
                self.payment(invoice, invoice["total"] // 2, issued + timedelta(days=min(age, 2)))
            invoice["_overdue_notified"] = invoice["due_date"] < self.anchor.date().isoformat()
            return
        paid_at = issued + timedelta(days=rng.randint(1, min(max(age, 1), 40)))
        if roll < 0.3:
            self.credit_note(invoice, "pre_payment", issued + timedelta(hours=5))
        due = invoice["total"] - sum(self.tenant.col("credit_notes")[c]["amount"] for c in invoice["_credit_note_ids"])
        if rng.random() < 0.25 and due > 1:
            self.payment(invoice, due // 3, paid_at - timedelta(days=1))
            due -= due // 3
        self.payment(invoice, due, paid_at)
        invoice["status"] = "paid"
        invoice["status_transitions"]["paid_at"] = iso(paid_at)
        invoice["updated_at"] = iso(paid_at)
        if rng.random() < 0.06:
            self.credit_note(invoice, "post_payment", paid_at + timedelta(days=2))

    def payment(self, invoice: dict[str, Any], amount: int, at: datetime) -> None:
        payment = self.put("payments", {
            "id": self.ids.new("pay"), "object": "payment", "livemode": False, "invoice_id": invoice["id"],
            "amount": amount, "currency": invoice["currency"],
            "method": self.rng.choice(("bank_transfer", "bank_transfer", "card", "direct_debit", "check")),
            "received_at": iso(at), "reference": f"REF-{self.rng.randint(100000, 999999)}", "created_at": iso(at)})
        invoice["_payment_ids"].append(payment["id"])

    def credit_note(self, invoice: dict[str, Any], kind: str, at: datetime) -> None:
        amount = max(1, invoice["total"] // 10)
        refund = amount if kind == "post_payment" else 0
        note = self.put("credit_notes", {
            "id": self.ids.new("cn"), "object": "credit_note", "livemode": False,
            "number": f"CN-{self.tenant.invoice_prefix}-{self.tenant.next_number('credit_note', 1):05d}",
            "invoice_id": invoice["id"], "customer_id": invoice["customer_id"], "type": kind, "status": "issued",
            "reason": "goodwill" if kind == "pre_payment" else "service_unsatisfactory", "memo": None,
            "currency": invoice["currency"], "amount": amount,
            "lines": [{"invoice_line_id": None, "description": "Goodwill credit", "quantity": None, "amount": amount}],
            "refund_amount": refund, "credit_amount": 0, "out_of_band_amount": 0, "created_at": iso(at)})
        invoice["_credit_note_ids"].append(note["id"])

    # -- calls -------------------------------------------------------------------------------------------
    def calls(self) -> None:
        voice_assets = [a for a in self.tenant.col("assets").values() if a["voice_lines"]]
        call_wos = [w for w in self.wos if w["origin"]["type"] == "call"]
        for wo in call_wos:
            self.call(wo=wo)
        for _ in range(160):
            self.call(asset=self.rng.choice(voice_assets) if voice_assets and self.rng.random() < 0.35 else None)

    def call(self, wo: dict[str, Any] | None = None, asset: dict[str, Any] | None = None) -> None:
        rng = self.rng
        if wo is not None:
            started = datetime.fromisoformat(wo["created_at"].replace("Z", "+00:00")) - timedelta(minutes=6)
            status = "completed"
            site = self.tenant.col("sites")[wo["site_id"]]
            asset = self.tenant.find("assets", wo.get("asset_id"))
        else:
            started = self.ago(rng.uniform(0, 60), rng.uniform(0, 10))
            status = rng.choices(("completed", "no_answer", "busy", "voicemail", "failed", "in_progress", "ringing"),
                                 (70, 8, 4, 10, 3, 3, 2))[0]
            if status in ("in_progress", "ringing"):
                started = self.anchor - timedelta(minutes=rng.randint(1, 20))
            site = self.tenant.col("sites")[asset["site_id"]] if asset else rng.choice(self.sites)
        match, from_number = None, self.phone()
        if asset is not None and asset["voice_lines"]:
            from_number = asset["voice_lines"][0]
            match = {"asset_id": asset["id"], "site_id": asset["site_id"], "method": "asset_line", "confidence": 1.0}
        elif asset is not None:
            method = rng.choice(("caller_id", "ivr_asset_code"))
            match = {"asset_id": asset["id"], "site_id": asset["site_id"], "method": method,
                     "confidence": round(rng.uniform(0.7, 0.95) if method == "caller_id" else 0.9, 2)}
        elif rng.random() < 0.5:
            from_number = (site.get("primary_contact") or {}).get("phone") or from_number
        answered = status in ("completed", "in_progress")
        duration = rng.randint(40, 900) if status == "completed" else rng.randint(15, 120) if status == "voicemail" else 0
        ended = started + timedelta(seconds=duration) if status not in ("in_progress", "ringing") else None
        decisions = []
        if wo is not None:
            decisions.append({"decided_at": iso(started + timedelta(minutes=5)), "decided_by": "dispatcher",
                              "rule_id": None, "dispatcher_id": "usr_dispatch01", "action": "created_work_order",
                              "work_order_id": wo["id"], "note": None})
        elif status == "voicemail":
            decisions.append({"decided_at": iso(started), "decided_by": "rule", "rule_id": "rule_after_hours",
                              "dispatcher_id": None, "action": "voicemail", "work_order_id": None, "note": None})
        elif status == "completed":
            action = rng.choice(("queued", "dismissed", "escalated", "linked_work_order"))
            linked = [w for w in self.wos if w["site_id"] == site["id"]] if action == "linked_work_order" else []
            decisions.append({"decided_at": iso(started + timedelta(minutes=2)), "decided_by": rng.choice(("rule",
                              "dispatcher")), "rule_id": None, "dispatcher_id": None,
                              "action": action if action != "linked_work_order" or linked else "queued",
                              "work_order_id": linked[0]["id"] if linked else None, "note": None})
        transcript_status = "none"
        if status in ("completed", "voicemail"):
            recent = (self.anchor - started) < timedelta(hours=6)
            transcript_status = "pending" if recent or rng.random() < 0.08 else "ready"
        call = self.put("calls", {
            "id": self.ids.new("call"), "object": "call", "livemode": False,
            "direction": "inbound" if wo is not None or rng.random() < 0.85 else "outbound", "status": status,
            "from_number": from_number, "to_number": self.spec["main_line"], "started_at": iso(started),
            "answered_at": iso(started + timedelta(seconds=8)) if answered else None, "ended_at": iso(ended),
            "duration_seconds": duration, "customer_id": site["customer_id"] if match or wo else None,
            "site_id": site["id"] if match or wo else None, "asset_id": match["asset_id"] if match else None,
            "asset_match": match, "work_order_ids": [d["work_order_id"] for d in decisions if d["work_order_id"]],
            "routing_decisions": decisions, "transcript_status": transcript_status,
            "has_recording": status in ("completed", "voicemail"), "created_at": iso(started)})
        if wo is not None:
            wo["origin"]["call_id"] = call["id"]
            add_entry(self.state, self.tenant, wo["id"], "call_linked", {"call_id": call["id"]}, at=wo["created_at"])
        if transcript_status == "ready":
            segments, clock = [], 0
            script = self.spec["transcript"] if status == "completed" else self.spec["transcript"][:2]
            for speaker, text in script:
                length = 1500 + 60 * len(text)
                segments.append({"speaker": speaker, "start_ms": clock, "end_ms": clock + length, "text": text})
                clock += length + 300
            self.tenant.col("transcripts")[call["id"]] = {
                "id": call["id"], "object": "transcript", "call_id": call["id"], "language": self.spec["language"],
                "pii_redacted": rng.random() < 0.5, "segments": segments,
                "created_at": iso((ended or started) + timedelta(minutes=2))}

    # -- equipment, webhooks, events -------------------------------------------------------------------------
    def checkouts(self) -> None:
        for i, asset in enumerate(self.equipment[:7]):
            tech = self.active_techs[i % len(self.active_techs)]
            out = self.ago(self.rng.randint(1, 20))
            returned = i >= 3
            due = out + timedelta(days=3 if i != 0 else 1)
            checkout = self.put("equipment_checkouts", {
                "id": self.ids.new("chk"), "object": "equipment_checkout", "livemode": False, "asset_id": asset["id"],
                "technician_id": tech["id"], "work_order_id": None, "status": "returned" if returned else "checked_out",
                "checked_out_at": iso(out), "due_back_at": iso(due if i != 1 else self.anchor + timedelta(days=2)),
                "from_location_id": asset["location_id"], "returned_at": iso(out + timedelta(days=1)) if returned else None,
                "condition": "ok" if returned else None, "to_location_id": asset["location_id"] if returned else None,
                "created_at": iso(out)})
            checkout["_seeded"] = True

    def webhooks_and_events(self) -> None:
        slug = self.spec["name"].split()[0].lower()
        created = iso(self.ago(120))
        endpoints = []
        for n, (reason, events) in enumerate((("endpoint_gone", ["work_order.*", "invoice.paid"]),
                                              ("manual", ["*"]))):
            endpoints.append(self.put("webhook_endpoints", {
                "id": self.ids.new("whep"), "object": "webhook_endpoint", "livemode": False,
                "url": f"https://hooks.{slug}.example/remoteops/{n + 1}",
                "description": ("ERP sync (receiver answered 410 Gone)" if reason == "endpoint_gone"
                                else "Data warehouse feed (paused)"),
                "enabled_events": events, "status": "disabled", "disabled_reason": reason,
                "_secret": signing.new_secret(self.rng.randbytes(24)), "secret_rotated_at": None, "version": 3,
                "created_at": created, "updated_at": iso(self.ago(2))}))
        recent = sorted(self.wos, key=lambda w: w["updated_at"])[-40:]
        for wo in recent:
            at = datetime.fromisoformat(wo["updated_at"].replace("Z", "+00:00"))
            event_type = f"work_order.{'created' if wo['status'] == 'new' else wo['status'].replace('in_progress', 'started')}"
            if event_type not in {f"work_order.{s}" for s in ("created", "scheduled", "dispatched", "started", "on_hold",
                                                              "completed", "closed", "cancelled")}:
                continue
            if event_type == "work_order.scheduled":
                event_type = "work_order.assigned"
            event = self.put("events", {
                "id": self.ids.new("evt"), "object": "event", "type": event_type, "timestamp": iso(at),
                "tenant_id": self.tenant.id, "livemode": False,
                "data": {"object": public(wo), "previous_attributes": None}, "deliveries": []})
            endpoint = endpoints[0]
            failed = self.rng.random() < 0.2
            event["deliveries"].append({
                "id": self.ids.new("dlv"), "object": "event_delivery", "event_id": event["id"],
                "endpoint_id": endpoint["id"], "status": "dead_lettered" if failed else "delivered",
                "attempt_count": 4 if failed else 1, "last_attempt_at": iso(at + timedelta(minutes=31 if failed else 0)),
                "next_attempt_at": None, "last_response_status": 503 if failed else 200,
                "last_error": "HTTP 503" if failed else None,
                "dead_lettered_at": iso(at + timedelta(minutes=31)) if failed else None})

    def run(self) -> Tenant:
        self.locations_and_staff()
        self.parts_and_stock()
        self.customers_and_sites()
        self.assets()
        self.contracts()
        self.work_orders()
        self.invoices()
        self.calls()
        self.checkouts()
        self.webhooks_and_events()
        return self.tenant


_COPIES = SeedCopies()


def seed_tenants(state: RemoteOpsState) -> dict[str, Tenant]:
    """The seeded tenants for ``state``'s settings and day (its runtime ids advance as seeding draws them)."""
    day = state.settings.seed_date or state.clock.now().date()

    def seeded() -> tuple[dict[str, Tenant], Any]:
        anchor = datetime(day.year, day.month, day.day, tzinfo=UTC)
        tenants = {tenant_id: _Seeder(state, tenant_id, spec, anchor).run() for tenant_id, spec in TENANTS.items()}
        return tenants, state.ids.rng.getstate()  # seeding draws runtime ids too (timeline entries)

    # A function of the seed, the volume and the day alone: copied when the process seeds it again.
    tenants, ids = _COPIES.get((state.settings.seed, state.settings.work_orders_per_tenant, day), seeded)
    state.ids.rng.setstate(ids)
    return tenants
