"""Seed data of the people-ops, payroll and finance records (expenses, payslips, payroll runs,
incentives, offboardings, probation, files, custom fields, travel requests, departments, legal
entities, leave policies, webhook events).

Runs after `seed.Seeder` on its own random stream (`<seed>:hr`), so the records seeded before it
keep their values and ids; like the rest of the seed it is deterministic for a seed and "today".
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ops_mcp.sandbox.remote.country_data import COUNTRIES, country_ref, currency_of

HR_COLLECTIONS = (
    "departments", "legal_entities", "leave_policies", "expenses", "payslips", "payroll_runs", "incentives",
    "recurring_incentives", "offboardings", "probation_extensions", "probation_letters", "files",
    "contract_documents", "custom_fields", "custom_field_values", "work_authorizations", "travel_letters",
    "webhook_events",
)

CURRENCY_NAMES = {"EUR": ("Euro", "€"), "GBP": ("British Pound", "£"), "USD": ("US Dollar", "$"),
                  "BRL": ("Brazilian Real", "R$"), "CAD": ("Canadian Dollar", "C$")}
# (slug, title, legacy category)
EXPENSE_CATEGORIES = [
    ("travel-flights", "Flights", "flight"), ("travel-lodging", "Lodging", "lodging"),
    ("meals-client", "Client meals", "meals"), ("home-office-equipment", "Home office equipment", "home_office"),
    ("tech-equipment", "Tech equipment", "tech_equipment"), ("coworking", "Coworking space", "coworking"),
    ("training", "Education and training", "education_training"), ("transport-local", "Local transport", "transport"),
    ("phone-internet", "Phone and internet", "phone_utilities"), ("other", "Other", "other"),
]
EXPENSE_TITLES = {"flight": "Flight to client site", "lodging": "Hotel, 2 nights", "meals": "Team lunch with client",
                  "home_office": "Standing desk", "tech_equipment": "USB-C monitor", "coworking": "Coworking day pass",
                  "education_training": "Conference ticket", "transport": "Taxi to airport",
                  "phone_utilities": "Mobile plan", "other": "Office supplies"}
# Leave policies every company has: (leave type, name, unit, yearly days, custom)
LEAVE_POLICIES = [
    ("paid_time_off", "Paid time off", "days", None, False), ("sick_leave", "Sick leave", "days", None, False),
    ("parental_leave", "Parental leave", "days", 90, False), ("unpaid_leave", "Unpaid leave", "unlimited", None, False),
    ("bereavement", "Bereavement leave", "days", 5, False), ("custom_company_leave", "Volunteering day", "days", 2, True),
]
CUSTOM_FIELDS = [
    ("T-shirt size", "single_select", {"options": [{"value": s, "label": s} for s in ("S", "M", "L", "XL")]}),
    ("Cost center", "string", None), ("Laptop asset tag", "string", None), ("Remote stipend", "currency", None),
    ("Start date confirmed", "boolean", None),
]
TRAVEL_DESTINATIONS = ["ESP", "FRA", "USA", "GBR", "PRT", "NLD", "BRA"]


def _ts(day: date, hour: int = 10) -> str:
    return datetime.combine(day, time(hour, 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def currency_definition(code: str) -> dict[str, str]:
    name, symbol = CURRENCY_NAMES.get(code, (code, code))
    return {"code": code, "name": name, "symbol": symbol}


def month_start(day: date, back: int) -> date:
    first = day.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


class HrSeeder:
    def __init__(self, seed: int, today: date, data: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.rng = random.Random(f"{seed}:hr")
        self.today = today
        self.data = data
        for name in HR_COLLECTIONS:
            data[name] = {}

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        self.data[collection][record["id"]] = record
        return record

    # --- company structure ---------------------------------------------------------------------------
    def company_structure(self, company: dict) -> None:
        for name, department_id in company["_departments"].items():
            self.add("departments", {"id": department_id, "name": name, "company_id": company["id"],
                                     "_company_id": company["id"]})
        home = company["country_code"]
        self.add("legal_entities", {"id": self.uid(), "name": company["name"], "country_code": home,
                                    "global_payroll_enabled": False, "is_default": True, "_company_id": company["id"]})
        self.add("legal_entities", {"id": self.uid(), "name": f"{company['name'].split()[0]} Portugal Lda",
                                    "country_code": "PRT", "global_payroll_enabled": True, "is_default": False,
                                    "_company_id": company["id"]})
        for leave_type, name, unit, days, custom in LEAVE_POLICIES:
            self.add("leave_policies", {"id": self.uid(), "name": name, "leave_type": leave_type, "unit": unit,
                                        "days": days, "custom": custom, "_company_id": company["id"]})
        for name, kind, metadata in CUSTOM_FIELDS:
            if kind == "currency":
                metadata = {"currency": company["desired_currency"]}
            self.add("custom_fields", {
                "id": self.uid(), "name": name, "type": kind, "required": False,
                "data_entry_access": "company_admin_only", "visibility_scope": "everyone", "metadata": metadata,
                "_company_id": company["id"]})

    # --- per employment ----------------------------------------------------------------------------
    def expense(self, employment: dict, status: str) -> None:
        rng = self.rng
        slug, title, category = rng.choice(EXPENSE_CATEGORIES)
        currency = employment["_currency"]
        amount = rng.randint(8, 900) * 100 + rng.choice([0, 50, 99])
        tax = int(amount * rng.choice([0, 0.07, 0.2]))
        spent = self.today - timedelta(days=rng.randint(2, 120))
        expense_id = self.uid()
        receipt = self.file(employment, "expense_receipt", f"receipt-{spent.isoformat()}.pdf", spent, None)
        reviewed = status not in ("pending", "draft")
        company_currency = self.data["companies"][employment["_company_id"]]["desired_currency"]
        rate = 1.0 if currency == company_currency else round(rng.uniform(0.8, 1.2), 4)
        self.add("expenses", {
            "id": expense_id, "employment_id": employment["id"], "title": EXPENSE_TITLES[category],
            "status": status, "amount": amount, "tax_amount": tax, "currency": currency_definition(currency),
            "converted_amount": int(amount * rate), "converted_tax_amount": int(tax * rate),
            "converted_currency": currency_definition(company_currency), "category": category,
            "expense_category": {"code": slug.upper().replace("-", "_"), "slug": slug, "title": title},
            "expense_date": spent.isoformat(),
            "invoice_period": spent.strftime("%Y-%m") if status in ("processing", "reimbursed") else None,
            "notes": rng.choice([None, "Receipt attached", "Client visit"]),
            "reason": "Not a reimbursable expense under our policy" if status == "declined" else None,
            "receipts": [receipt], "reviewed_at": _ts(spent + timedelta(days=2)) if reviewed else None,
            "reviewer": None, "_company_id": employment["_company_id"], "_submitted_at": _ts(spent, 18),
        })
        if reviewed:
            manager = self.data["managers"][employment["manager_id"]]
            self.data["expenses"][expense_id]["reviewer"] = {
                "user_id": manager["user_id"], "user_name": manager["user_name"], "user_email": manager["user_email"]}

    def file(self, employment: dict, kind: str, name: str, day: date, sub_type: str | None) -> dict[str, Any]:
        record = {"id": self.uid(), "name": name, "type": kind, "sub_type": sub_type, "inserted_at": _ts(day),
                  "_company_id": employment["_company_id"], "_employment_id": employment["id"]}
        self.add("files", record)
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def employment_files(self, employment: dict) -> None:
        started = date.fromisoformat(employment["provisional_start_date"])
        self.file(employment, "employment_contract", "Employment agreement.pdf", started - timedelta(days=10), "signed")
        self.file(employment, "identity_document", "Passport.pdf", started - timedelta(days=14), "passport")
        if self.rng.random() < 0.5:
            self.file(employment, "tax_form", "Tax form.pdf", started - timedelta(days=7), None)

    def contract_document(self, employment: dict) -> None:
        started = date.fromisoformat(employment["provisional_start_date"])
        status = "finished" if employment["status"] == "active" else "awaiting_signatures"
        owner = self.data["companies"][employment["_company_id"]]
        self.add("contract_documents", {
            "id": self.uid(), "name": "Contractor agreement", "type": "contractor_agreement", "status": status,
            "inserted_at": _ts(started - timedelta(days=12)), "updated_at": _ts(started - timedelta(days=5)),
            "signatories": [
                {"name": owner["company_owner_name"], "email": owner["company_owner_email"], "type": "company",
                 "status": "signed", "signed_at": _ts(started - timedelta(days=8)), "user_id": owner["company_owner_user_id"]},
                {"name": employment["full_name"], "email": employment["personal_email"], "type": "contractor",
                 "status": "signed" if status == "finished" else "pending",
                 "signed_at": _ts(started - timedelta(days=5)) if status == "finished" else None, "user_id": None},
            ],
            "_company_id": employment["_company_id"], "_employment_id": employment["id"]})

    def incentives(self, employment: dict) -> None:
        rng = self.rng
        for back, status in ((2, "paid"), (0, "processing"), (-1, "pending")):
            effective = month_start(self.today, back) if back >= 0 else \
                (self.today.replace(day=1) + timedelta(days=32)).replace(day=1)
            self.add("incentives", {
                "id": self.uid(), "employment_id": employment["id"],
                "type": rng.choice(["bonus", "commission", "referral_bonus", "retention_bonus"]), "status": status,
                "amount": rng.randint(5, 40) * 10000, "amount_tax_type": "gross",
                "effective_date": effective.isoformat(), "expected_payout_date": month_end(effective).isoformat(),
                "note": rng.choice([None, "Q2 target met", "Referral: new engineer", "Retention agreement"]),
                "period_start": None, "period_end": None, "recurring_incentive_id": None,
                "_company_id": employment["_company_id"]})

    def recurring_incentive(self, employment: dict) -> None:
        start = month_start(self.today, self.rng.randint(1, 6))
        recurring_id = self.uid()
        amount = self.rng.choice([5000, 7500, 10000])
        kind = self.rng.choice(["internet_allowance", "work_from_home_allowance", "phone_allowance"])
        self.add("recurring_incentives", {
            "id": recurring_id, "employment_id": employment["id"], "type": kind, "status": "active",
            "amount": amount, "amount_tax_type": "net", "start_date": start.isoformat(), "end_date": None,
            "note": "Monthly allowance", "_company_id": employment["_company_id"]})
        for back in range(0, 3):
            effective = month_start(self.today, back) if back > 0 else \
                (self.today.replace(day=1) + timedelta(days=32)).replace(day=1)
            if effective < start:
                continue
            self.add("incentives", {
                "id": self.uid(), "employment_id": employment["id"], "type": kind,
                "status": "paid" if back > 1 else "processing" if back == 1 else "pending", "amount": amount,
                "amount_tax_type": "net", "effective_date": effective.isoformat(),
                "expected_payout_date": month_end(effective).isoformat(), "note": "Monthly allowance",
                "period_start": effective.isoformat(), "period_end": month_end(effective).isoformat(),
                "recurring_incentive_id": recurring_id, "_company_id": employment["_company_id"]})

    def payslips(self, employment: dict) -> None:
        monthly = employment["_salary"] // 12
        for back in (1, 2, 3):
            first = month_start(self.today, back)
            net = int(monthly * self.rng.uniform(0.62, 0.72))
            self.add("payslips", {
                "id": self.uid(), "employment_id": employment["id"], "issued_at": (month_end(first) - timedelta(days=3)).isoformat(),
                "expected_payout_date": month_end(first).isoformat(), "net_pay_source_amount": net,
                "net_pay_converted_amount": net, "_company_id": employment["_company_id"],
                "_period": first.strftime("%Y-%m"), "_gross": monthly, "_full_name": employment["full_name"],
                "_currency": employment["_currency"]})

    def offboarding(self, employment: dict, index: int, resignation: bool | None = None) -> None:
        """An offboarding of a leaving employment; `resignation` forces a submitted resignation."""
        rng = self.rng
        termination = employment["termination_date"]
        end = date.fromisoformat(termination) if termination else self.today + timedelta(days=45)
        submitted = min(end - timedelta(days=rng.randint(30, 60)), self.today - timedelta(days=1))
        if resignation:
            status = "submitted"
        else:
            status = "in_review" if employment["status"] in ("offboarding", "active") else "done"
            resignation = index % 3 == 0 and status == "done"
        common = {
            "id": self.uid(), "employment_id": employment["id"], "status": status, "offboarding_id": None,
            "requested_by": self.data["companies"][employment["_company_id"]]["company_owner_email"],
            "submitted_at": _ts(submitted), "termination_date": end.isoformat() if status == "done" else None,
            "additional_comments": None, "agrees_to_pto_amount": True, "_company_id": employment["_company_id"],
        }
        if resignation:
            self.add("offboardings", {
                **common, "type": "resignation", "proposed_last_working_day": end.isoformat(),
                "resignation_reason": rng.choice(["other_job_opportunity", "personal_reasons", "relocation_leaving_remote"]),
                "reason_description": "Moving on to a new role.", "employer_awareness": "Discussed in 1:1",
                "_validated": status != "submitted"})
        else:
            self.add("offboardings", {
                **common, "type": "termination", "confidential": index % 4 == 1,
                "proposed_termination_date": end.isoformat(),
                "termination_reason": rng.choice(["performance", "workforce_reduction", "mutual_agreement"]),
                "reason_description": "Role no longer needed after the restructuring.",
                "risk_assessment_reasons": ["none_of_these"], "will_challenge_termination": False,
                "employee_awareness": {"date": submitted.isoformat(), "note": "Informed by their manager"},
                "personal_email": employment["personal_email"]})

    def travel(self, employment: dict, index: int, manager: dict) -> None:
        rng = self.rng
        statuses = ["pending", "approved_by_manager", "approved_by_remote", "declined_by_manager", "cancelled"]
        status = statuses[index % len(statuses)]
        start = self.today + timedelta(days=rng.randint(10, 90))
        destination = next(c for c in TRAVEL_DESTINATIONS[index % len(TRAVEL_DESTINATIONS):] + TRAVEL_DESTINATIONS
                           if c != employment["country"]["code"])
        user = {"id": self.uid(), "name": employment["full_name"], "email": employment["login_email"]}
        approver = None if status in ("pending", "cancelled") else \
            {"id": manager["user_id"], "name": manager["user_name"], "email": manager["user_email"]}
        common = {
            "status": status, "submitted_at": _ts(self.today - timedelta(days=rng.randint(1, 20))), "user": user,
            "employer_approver": approver, "destination_country": country_ref(destination),
            "travel_date_start": start.isoformat(), "travel_date_end": (start + timedelta(days=rng.randint(3, 20))).isoformat(),
            "additional_information": "", "travel_document_number": f"P{rng.randint(1000000, 9999999)}",
            "employer_special_instructions": None,
            "_company_id": employment["_company_id"], "_employment_id": employment["id"],
        }
        self.add("work_authorizations", {
            "id": self.uid(), **common, "reason": rng.choice(["Client workshop", "Team offsite", "Conference"]),
            "work_location": f"{COUNTRIES[destination][1]} office", "will_negotiate_or_sign_contracts": False})
        if index % 2 == 0:
            self.add("travel_letters", {
                "id": self.uid(), **common, "reason": "Business travel", "travel_reason": "business_meeting",
                "travel_reason_details": "Quarterly planning with the regional team",
                "embassy_address": f"Embassy of {COUNTRIES[destination][1]}", "requires_travel_address": True,
                "travel_address": "Hotel near the office", "responsible_for_accommodation_cost": "employer",
                "responsible_for_meal_cost": "employee", "responsible_for_travel_cost": "employer"})

    # --- per company ----------------------------------------------------------------------------------
    def payroll_runs(self, company: dict, employees: list[dict]) -> None:
        by_country: dict[str, list[dict]] = {}
        for employment in employees:
            by_country.setdefault(employment["country"]["code"], []).append(employment)
        countries = sorted(by_country, key=lambda c: -len(by_country[c]))[:2]
        slips = {(p["employment_id"], p["_period"]): p for p in self.data["payslips"].values()
                 if p["_company_id"] == company["id"]}
        for code in countries:
            for back in (0, 1, 2, 3):
                first = month_start(self.today, back)
                status = {0: "preparing", 1: "waiting_for_customer_approval", 2: "completed", 3: "finalized"}[back]
                rows = [self._employee_row(e, slips.get((e["id"], first.strftime("%Y-%m"))), back)
                        for e in by_country[code]]
                totals = {k: sum(r[k]["amount"] for r in rows) for k in
                          ("base_salary", "benefits", "employer_costs", "expenses", "incentives", "other", "total_cost")}
                self.add("payroll_runs", {
                    "id": self.uid(), "status": status, "type": "main",
                    "country": {**country_ref(code), "region": COUNTRIES[code][2]},
                    "currency_code": currency_of(code), "period_start": first.isoformat(),
                    "period_end": month_end(first).isoformat(), "cutoff_date": (first + timedelta(days=14)).isoformat(),
                    "approval_date": (first + timedelta(days=20)).isoformat() if back >= 2 else None,
                    "expected_payout_date": month_end(first).isoformat(), "total_payroll_cost": totals["total_cost"],
                    "salary_total": totals["base_salary"], "benefits_total": totals["benefits"],
                    "employer_contributions_total": totals["employer_costs"], "expenses_total": totals["expenses"],
                    "incentives_total": totals["incentives"], "other_total": totals["other"],
                    "_employee_details": rows, "_company_id": company["id"]})

    def _employee_row(self, employment: dict, payslip: dict | None, back: int) -> dict[str, Any]:
        currency = employment["_currency"]
        gross = employment["_salary"] // 12
        employer = int(gross * 0.23)
        deductions = int(gross * 0.31)
        expenses = self.rng.choice([0, 0, 4500, 12000])
        incentives = self.rng.choice([0, 0, 50000])
        money = lambda amount: {"amount": amount, "currency": currency}  # noqa: E731
        return {
            "employment_id": employment["id"], "full_name": employment["full_name"],
            "payslip_id": payslip["id"] if payslip and back > 0 else None,
            "base_salary": money(gross), "benefits": money(15000), "deductions": money(deductions),
            "employer_costs": money(employer), "expenses": money(expenses), "gross_pay": money(gross + incentives),
            "incentives": money(incentives), "net_pay": money(gross + incentives - deductions), "other": money(0),
            "total_cost": money(gross + employer + 15000 + expenses + incentives),
        }

    def probation(self, employment: dict, manager: dict, extension: bool) -> None:
        submitted = _ts(self.today - timedelta(days=self.rng.randint(3, 40)))
        common = {"id": self.uid(), "employment_id": employment["id"], "submitted_at": submitted,
                  "zendesk_ticket_url": f"https://support.remote-sandbox.com/tickets/{self.rng.randint(100000, 999999)}",
                  "_company_id": employment["_company_id"]}
        if extension:
            self.add("probation_extensions", {**common, "requested_by": manager["user_email"],
                                              "status": self.rng.choice(["submitted", "in_review", "done"]),
                                              "_days": 30})
        else:
            letter = self.file(employment, "probation_completion_letter", "Probation completion letter.pdf",
                               self.today - timedelta(days=2), None)
            self.add("probation_letters", {**common, "status": "done", "letter": letter})

    def webhook_events(self, company: dict, employments: list[dict]) -> None:
        kinds = ["employment.updated", "timeoff.requested", "timeoff.approved", "expense.submitted",
                 "payslip.released", "employment.onboarding.completed"]
        for i in range(12):
            employment = employments[i % len(employments)]
            when = datetime.combine(self.today - timedelta(days=30 - 2 * i), time(9, i), UTC)
            event_id = self.uid()
            kind = kinds[i % len(kinds)]
            self.add("webhook_events", {
                "id": event_id, "event_type": kind, "company_id": company["id"],
                "first_triggered_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "last_triggered_at": (when + timedelta(minutes=5 * (i % 3))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "successfully_delivered": i % 5 != 3, "_company_id": company["id"],
                "_payload": {"event_type": kind, "company_id": company["id"], "employment_id": employment["id"]},
                "_deliveries": []})

    def run(self) -> None:
        companies = list(self.data["companies"].values())
        for company in companies:
            self.company_structure(company)
            employments = [e for e in self.data["employments"].values() if e["_company_id"] == company["id"]]
            managers = [m for m in self.data["managers"].values() if m["_company_id"] == company["id"]]
            employees = [e for e in employments if e["type"] != "contractor" and e["status"] in ("active", "offboarding")]
            statuses = ["pending", "approved", "declined", "processing", "reimbursed", "pending", "canceled", "draft"]
            for i, employment in enumerate(employees[:36]):
                self.expense(employment, statuses[i % len(statuses)])
            for employment in employments:
                if employment["status"] not in ("created", "pre_hire"):
                    self.employment_files(employment)
                if employment["type"] == "contractor":
                    self.contract_document(employment)
            for employment in employees:
                self.payslips(employment)
            for employment in employees[:10]:
                self.incentives(employment)
            for employment in employees[10:16]:
                self.recurring_incentive(employment)
            leaving = [e for e in employments if e["status"] in ("offboarding", "archived", "deleted")]
            for i, employment in enumerate(leaving):
                self.offboarding(employment, i)
            # An employee who has just resigned: the employer still has to validate it.
            self.offboarding(employees[-1], len(leaving), resignation=True)
            for i, employment in enumerate(employees[:10]):
                self.travel(employment, i, managers[i % len(managers)])
            for i, employment in enumerate(employees[16:22]):
                self.probation(employment, managers[1], extension=i % 2 == 0)
            fields = [f for f in self.data["custom_fields"].values() if f["_company_id"] == company["id"]]
            for i, employment in enumerate(employees[:20]):
                self.custom_values(employment, fields, i)
            self.payroll_runs(company, employees)
            self.webhook_events(company, employees)

    def custom_values(self, employment: dict, fields: list[dict], index: int) -> None:
        for field in fields:
            if field["type"] == "single_select":
                value: Any = {"selected_option": "M", "selected_option_label": "M"} if index % 2 else \
                    {"selected_option": "L", "selected_option_label": "L"}
            elif field["type"] == "string":
                value = f"{field['name'][:3].upper()}-{1000 + index}"
            elif field["type"] == "currency":
                value = 5000 + 500 * (index % 4)
            else:
                value = index % 3 != 0
            key = f"{field['id']}:{employment['id']}"
            self.data["custom_field_values"][key] = {
                "id": key, "custom_field_id": field["id"], "value": value,
                "_employment_id": employment["id"], "_company_id": employment["_company_id"]}


def seed_hr(seed: int, today: date, data: dict[str, dict[str, dict[str, Any]]]) -> None:
    HrSeeder(seed, today, data).run()
