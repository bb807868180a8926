"""Deterministic, realistic seed data for the Remote emulator.

Everything comes from one `random.Random(seed)`, ids included, so a given seed and "today" always
give the same data. Two companies (Acme GmbH, Globex Ltd) with 160 employments across ten
countries, every time-off / timesheet / invoice status, amendments, billing documents and
payroll calendars. Records are plain JSON-ready dicts; keys starting with "_" are internal
(owner company, …) and never serialised.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ops_mcp.sandbox.common.seed_copies import SeedCopies
from ops_mcp.sandbox.remote.country_data import COUNTRIES, country_ref, currency_of, timezone_of
from ops_mcp.sandbox.remote.credentials import PARTNER_CLIENT_IDS
from ops_mcp.sandbox.remote.seed_hr import HR_COLLECTIONS, seed_hr

COLLECTIONS = (
    "companies", "managers", "employments", "contracts", "amendments", "timeoffs", "timesheets",
    "invoices", "schedules", "billing_documents", "eor_calendars", "company_calendars", "webhook_callbacks",
    *HR_COLLECTIONS,
)

FIRST = ["Ana", "João", "Lena", "Jonas", "Camille", "Hugo", "Emily", "Jack", "Olivia", "Noah", "Lucía", "Pablo",
         "Sanne", "Daan", "Beatriz", "Rafael", "Aoife", "Liam", "Chloé", "Mateo", "Sofia", "Tiago", "Greta",
         "Felix", "Maya", "Ethan", "Inês", "Lukas", "Zoe", "Arjun"]
LAST = ["Silva", "Santos", "Müller", "Schmidt", "Dubois", "Martin", "Smith", "Johnson", "Brown", "García",
        "López", "de Vries", "Jansen", "Oliveira", "Costa", "Murphy", "Kelly", "Tremblay", "Roy", "Fischer",
        "Weber", "Moreau", "Taylor", "Wilson", "Pereira", "Ferreira", "Becker", "Bernard", "Clarke", "Walsh"]
JOBS = [("Software Engineer", "engineering_it"), ("Senior Software Engineer", "engineering_it"),
        ("Data Analyst", "engineering_it"), ("Product Manager", "operations"), ("Account Executive", "sales"),
        ("Customer Success Manager", "customer_support"), ("Marketing Manager", "marketing"),
        ("Financial Controller", "finance"), ("HR Business Partner", "human_resources"),
        ("Legal Counsel", "legal"), ("Designer", "marketing"), ("Support Specialist", "customer_support")]
DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "People", "Operations"]
TIMEOFF_TYPES = ["paid_time_off", "sick_leave", "unpaid_leave", "parental_leave", "bereavement", "time_off",
                 "in_lieu_time", "extended_leave"]
# Employment statuses with weights, lifecycle stage and whether the onboarding forms are filled in.
EMPLOYMENT_STATUSES = [
    ("active", 58, "onboarded"), ("created", 9, "employment_creation"), ("invited", 6, "employee_self_enrollment"),
    ("initiated", 2, "employee_self_enrollment"), ("pending", 3, "contract_signing"),
    ("review", 5, "remote_enrollment"), ("pre_hire", 2, "employment_creation"),
    ("job_title_review", 1, "remote_enrollment"), ("offboarding", 4, "onboarded"),
    ("archived", 7, "offboarded"), ("deleted", 2, "offboarded"),
]
LIFECYCLE = {status: stage for status, _w, stage in EMPLOYMENT_STATUSES}
MIN_SALARY = {"PRT": 1218000, "DEU": 2666600, "FRA": 2120000, "USA": 1508000, "GBR": 2300000}
INVOICE_STATUSES = ["issued", "draft", "approved", "pending_payment", "in_review", "externally_paid", "rejected",
                    "rejected_by_remote", "blocked", "compliance_review", "pay_out_scheduled", "processing",
                    "paid_out", "paid_out", "paid_out", "pay_out_failed"]
COMPANY_SPECS = [
    # slug, name, country, currency, domain, employments, countries weights
    ("acme", "Acme GmbH", "DEU", "EUR", "acme.example", 95,
     {"DEU": 30, "PRT": 15, "FRA": 12, "ESP": 10, "NLD": 8, "GBR": 8, "USA": 7, "BRA": 5, "IRL": 3, "CAN": 2}),
    ("globex", "Globex Ltd", "GBR", "GBP", "globex.example", 65,
     {"GBR": 25, "USA": 20, "IRL": 8, "CAN": 8, "PRT": 6, "DEU": 5, "BRA": 5, "NLD": 4}),
]


def iso_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Seeder:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.data: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLLECTIONS
                                                          if name not in HR_COLLECTIONS}

    # --- helpers -------------------------------------------------------------------------
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ts(self, day: date, hour: int | None = None) -> str:
        hour = self.rng.randint(8, 18) if hour is None else hour
        return iso_ts(datetime.combine(day, time(hour, self.rng.randint(0, 59)), UTC))

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def person(self) -> tuple[str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        # E-mail handles are ASCII ("Müller" -> "muller"), as most mail systems require.
        handle = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        return f"{first} {last}", handle.lower().replace(" ", "").replace("'", "")

    # --- companies and managers -------------------------------------------------------------
    def company(self, slug: str, name: str, country: str, currency: str, domain: str) -> dict:
        company_id = self.uid()
        owner_name, handle = self.person()
        created = self.days_ago(700, 900)
        owner_id = self.uid()
        company = {
            "id": company_id, "name": name, "status": "active", "country_code": country,
            "desired_currency": currency, "external_id": f"{slug.upper()}-001",
            "company_owner_email": f"{handle}@{domain}", "company_owner_name": owner_name,
            "company_owner_user_id": owner_id,
            "address_details": {"address": "Hauptstraße 1" if country == "DEU" else "1 King's Road",
                                "city": "Berlin" if country == "DEU" else "London",
                                "postal_code": "10115" if country == "DEU" else "SW1A 1AA"},
            "tax_number": "DE812345678" if country == "DEU" else "GB123456789",
            "registration_number": "HRB 123456" if country == "DEU" else "09876543",
            "phone_number": "+493012345678" if country == "DEU" else "+442071234567",
            "email_domain": domain, "created_at": self.ts(created), "updated_at": self.ts(created),
            "terms_of_service_accepted_at": iso_ts(datetime.combine(created, time(9, 0), UTC)),
            "default_legal_entity_credit_risk_status": "ready",
            "_slug": slug, "_company_id": company_id,
            "_departments": {name: self.uid() for name in DEPARTMENTS},
            # Both sandbox partners (see auth.PARTNERS) are authorised by the seeded companies.
            "_partners": list(PARTNER_CLIENT_IDS),
        }
        self.data["companies"][company_id] = company
        roles = [("admin", owner_name, handle, owner_id)]
        for role in ("admin", "people_manager", "people_manager", "onboarding_manager"):
            person_name, person_handle = self.person()
            roles.append((role, person_name, person_handle, self.uid()))
        for role, person_name, person_handle, user_id in roles:
            self.data["managers"][user_id] = {
                "company_id": company_id, "user_id": user_id, "user_name": person_name,
                "user_email": f"{person_handle}@{domain}", "role": role, "_company_id": company_id,
            }
        return company

    # --- employments -----------------------------------------------------------------------
    def employment(self, company: dict, country: str, index: int, managers: list[str]) -> dict:
        rng = self.rng
        full_name, handle = self.person()
        contractor = rng.random() < 0.14
        if contractor:
            status = rng.choices(["active", "created", "invited", "archived"], [70, 10, 8, 12])[0]
        else:
            status = rng.choices([s for s, _w, _l in EMPLOYMENT_STATUSES],
                                 [w for _s, w, _l in EMPLOYMENT_STATUSES])[0]
        job, category = rng.choice(JOBS)
        department = rng.choice(DEPARTMENTS)
        employment_id = self.uid()
        domain = company["email_domain"]
        if status in ("created", "pre_hire"):
            created = self.days_ago(1, 20)
            start = self.today + timedelta(days=rng.randint(14, 45))
        else:
            created = self.days_ago(30, 800)
            start = created + timedelta(days=rng.randint(14, 45))
        currency = currency_of(country)
        minimum = MIN_SALARY.get(country, 1000000)
        salary = minimum + rng.randint(10, 80) * 100000
        if contractor:
            etype, model = "contractor", None
        elif country == "USA" and rng.random() < 0.3:
            etype, model = "employee", "peo"
        elif rng.random() < 0.05:
            etype, model = "global_payroll_employee", "global_payroll"
        else:
            etype, model = "employee", "eor"
        basic = {
            "name": full_name, "email": f"{handle}{index}@mail.example", "job_title": job,
            "provisional_start_date": start.isoformat(), "has_seniority_date": "no",
            "tax_servicing_countries": [country_ref(country)["name"]], "tax_job_category": category,
        }
        if status not in ("created", "pre_hire"):
            basic["work_email"] = f"{handle}{index}@{domain}"
        if country == "USA":
            basic["work_state"] = rng.choice(["CA", "NY", "TX", "WA"])
        if country == "FRA":
            basic["is_cadre"] = rng.choice(["yes", "no"])
        record: dict[str, Any] = {
            "id": employment_id,
            "short_id": f"{company['_slug'][:2].upper()}{1000 + index}",
            "full_name": full_name,
            "job_title": job,
            "personal_email": basic["email"],
            "work_email": basic.get("work_email"),
            "login_email": basic.get("work_email") or basic["email"],
            "status": status,
            "type": etype,
            "employment_model": model,
            "employment_lifecycle_stage": LIFECYCLE.get(status, "onboarded"),
            "external_id": f"HRIS-{company['_slug'][:1].upper()}{4000 + index}",
            "country": country_ref(country),
            "department_id": company["_departments"][department],
            "department": department,
            "manager_id": rng.choice(managers),
            "company_id": company["id"],
            "provisional_start_date": start.isoformat(),
            "termination_date": None,
            "created_at": self.ts(created),
            "updated_at": self.ts(created + timedelta(days=rng.randint(0, 10))),
            "basic_information": basic,
            "personal_details": None,
            "address_details": None,
            "contract_details": None,
            "pricing_plan_details": None,
            "emergency_contact_details": None,
            "onboarding_tasks": {},
            "files": [],
            "active_contract_id": None,
            "_company_id": company["id"],
            "_salary": salary,
            "_currency": currency,
        }
        # Created employments: two in three already have the forms needed for an invite.
        complete = status not in ("created", "pre_hire") or rng.random() < 0.66
        if complete and not contractor:
            record["contract_details"] = {
                "annual_gross_salary": salary, "work_schedule": "full_time",
                "work_hours_per_week": 35 if country == "FRA" else 40, "contract_duration_type": "indefinite",
                "role_description": f"Owns {job.lower()} work, reports to the team lead, mentors colleagues.",
                "probation_length_days": 90, "paid_time_off_days": 28 if country == "GBR" else 25,
            }
            if country == "USA":
                record["contract_details"]["flsa_classification"] = "exempt"
            record["pricing_plan_details"] = {"frequency": rng.choice(["monthly", "annually"])}
        if status not in ("created", "pre_hire"):
            record["personal_details"] = {
                "date_of_birth": date(rng.randint(1970, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                "nationality": country_ref(country)["name"], "phone_number": f"+{rng.randint(10, 99)}9{index:08d}",
            }
            record["address_details"] = {"address": f"{rng.randint(1, 200)} Main Street", "city": "Capital",
                                         "postal_code": "10115"}
        if status in ("offboarding", "archived", "deleted"):
            record["termination_date"] = (self.today + timedelta(days=rng.randint(-200, 30))).isoformat()
        record["onboarding_tasks"] = {
            "contract_details": {"status": "completed" if record["contract_details"] else "pending"},
            "pricing_plan_details": {"status": "completed" if record["pricing_plan_details"] else "pending"},
            "personal_details": {"status": "completed" if record["personal_details"] else "pending"},
        }
        self.data["employments"][employment_id] = record
        if record["contract_details"]:
            self.contracts(record, start)
        return record

    def contracts(self, employment: dict, start: date) -> None:
        salary = employment["_salary"]
        has_history = self.rng.random() < 0.3 and employment["status"] == "active"
        current_start = start
        if has_history:
            old_id = self.uid()
            self.data["contracts"][old_id] = self.contract(employment, old_id, "inactive", start, int(salary * 0.92))
            current_start = start + timedelta(days=self.rng.randint(180, 360))
        status = "active" if employment["status"] in ("active", "offboarding") else "pending"
        contract_id = self.uid()
        self.data["contracts"][contract_id] = self.contract(employment, contract_id, status, current_start, salary)
        if status == "active":
            employment["active_contract_id"] = contract_id

    def contract(self, employment: dict, contract_id: str, status: str, effective: date, salary: int) -> dict:
        return {
            "contract_id": contract_id, "employment_id": employment["id"], "status": status,
            "job_title": employment["job_title"], "effective_at": effective.isoformat() + "T00:00:00Z",
            "activated_at": effective.isoformat() + "T00:00:00Z" if status != "pending" else None,
            "amendment_contract_id": None,
            "compensation": {"amount": salary, "currency_code": employment["_currency"], "wage_type": "salary"},
            "contract_details": dict(employment["contract_details"] or {}),
            "country": employment["country"],
            "created_at": self.ts(effective - timedelta(days=10)),
            "_company_id": employment["_company_id"],
        }

    # --- time off, timesheets, amendments ------------------------------------------------------
    def timeoff(self, employment: dict, managers: list[str], status: str) -> dict:
        rng = self.rng
        if status == "taken":
            start = self.days_ago(20, 200)
        elif status in ("approved", "cancel_requested", "requested"):
            start = self.today + timedelta(days=rng.randint(3, 120))
        else:
            start = self.today + timedelta(days=rng.randint(-60, 90))
        end = start + timedelta(days=rng.choice([0, 0, 1, 2, 4, 9]))
        days = timeoff_days(start, end)
        kind = rng.choice(TIMEOFF_TYPES)
        timeoff_id = self.uid()
        created = min(start, self.today) - timedelta(days=rng.randint(3, 30))
        approved = status in ("approved", "taken", "cancel_requested", "cancelled")
        record = {
            "id": timeoff_id, "employment_id": employment["id"], "start_date": start.isoformat(),
            "end_date": end.isoformat(), "status": status, "timeoff_type": kind,
            "timezone": timezone_of(employment["country"]["code"]), "timeoff_days": days,
            "total_minutes": sum(d["hours"] * 60 for d in days),
            "notes": rng.choice([None, "Family trip", "Doctor appointment", "Moving house", "Conference"]),
            "approver_id": rng.choice(managers) if approved or status == "declined" else None,
            "approved_at": self.ts(created + timedelta(days=1)) if approved else None,
            "cancel_reason": "Plans changed" if status in ("cancelled", "cancel_requested") else None,
            "cancelled_at": self.ts(created + timedelta(days=2)) if status == "cancelled" else None,
            "decline_reason": "Team coverage too low" if status == "declined" else None,
            "automatic": False,
            "leave_policy": {"leave_policy_variant_slug": f"{kind}-default", "leave_type": kind,
                             "name": kind.replace("_", " ").capitalize()},
            "leave_policy_variant_id": None,
            "document": None,
            "created_at": self.ts(created), "updated_at": self.ts(created + timedelta(days=2)),
            "_company_id": employment["_company_id"],
        }
        self.data["timeoffs"][timeoff_id] = record
        return record

    def timesheet(self, employment: dict, status: str, week: int) -> dict:
        rng = self.rng
        monday = self.today - timedelta(days=self.today.weekday() + 7 * week)
        sunday = monday + timedelta(days=6)
        regular = rng.randint(32, 40)
        overtime = rng.choice([0, 0, 1, 2, 4])
        night = rng.choice([0, 0, 2])
        trackings = []
        for offset in range(5):
            day = monday + timedelta(days=offset)
            trackings.append({"clock_in": iso_ts(datetime.combine(day, time(9), UTC)),
                              "clock_out": iso_ts(datetime.combine(day, time(17), UTC)),
                              "type": "regular_hours"})
        submitted = status not in ("open",)
        timesheet_id = self.uid()
        record = {
            "id": timesheet_id, "employment_id": employment["id"], "country_code": employment["country"]["code"],
            "start_date": monday.isoformat(),
            "end_date": sunday.isoformat(), "status": status,
            "submitted_at": self.ts(sunday + timedelta(days=1)) if submitted else None,
            "approved_at": self.ts(sunday + timedelta(days=2)) if status in ("approved", "processed") else None,
            "notes": rng.choice([None, "On-call weekend", "Client workshop"]),
            "approval_required": True,
            "timezone": timezone_of(employment["country"]["code"]),
            "regular_hours": {"hours": regular, "minutes": 0},
            "overtime_hours": {"hours": overtime, "minutes": 0},
            "night_hours": {"hours": night, "minutes": 0},
            "weekend_hours": {"hours": 0, "minutes": 0},
            "holiday_hours": {"hours": 0, "minutes": 0},
            "total_hours": {"hours": regular + overtime + night, "minutes": 0},
            "time_trackings": trackings,
            "sent_back": status == "in_calibration",
            "sent_back_reason": "Please split the overtime by day" if status == "in_calibration" else None,
            "_company_id": employment["_company_id"],
        }
        self.data["timesheets"][timesheet_id] = record
        return record

    def amendment(self, employment: dict, requested_by: str, status: str) -> dict:
        rng = self.rng
        salary = employment["_salary"]
        new_salary = int(salary * rng.choice([1.03, 1.05, 1.1]))
        reason = rng.choice(["annual_pay_adjustment", "promotion", "error_correction", "job_change_reevaluation"])
        effective = self.today + timedelta(days=rng.randint(-30, 60))
        amendment_id = self.uid()
        request = {"annual_gross_salary": new_salary, "work_schedule": "full_time",
                   "work_hours_per_week": 35 if employment["country"]["code"] == "FRA" else 40,
                   "effective_date": effective.isoformat(), "reason_for_change": reason}
        submitted = self.ts(effective - timedelta(days=rng.randint(10, 40)))
        record = {
            "id": amendment_id, "employment_id": employment["id"],
            "amendment_contract_id": employment["active_contract_id"], "job_title": employment["job_title"],
            "reason_for_change": reason, "requested_by": requested_by,
            "requested_effective_date": effective.isoformat(), "effective_date": effective.isoformat(),
            "status": status, "submitted_at": submitted,
            "changes": {"contract_details.annual_gross_salary": {"previous": salary, "current": new_salary}},
            "request_details": request,
            "zendesk_ticket_url": f"https://support.remote-sandbox.com/tickets/{rng.randint(100000, 999999)}",
            "_company_id": employment["_company_id"],
        }
        self.data["amendments"][amendment_id] = record
        return record

    # --- contractor invoices and billing -------------------------------------------------------
    def schedule(self, employment: dict, company_id: str) -> dict:
        rng = self.rng
        schedule_id = self.uid()
        amount = rng.randint(30, 120) * 10000
        record = {
            "id": schedule_id, "employment_id": employment["id"], "currency": currency_of(employment["country"]["code"]),
            "periodicity": rng.choice(["monthly", "monthly", "bi_weekly", "semi_monthly"]),
            "start_date": self.days_ago(90, 300).isoformat(), "nr_occurrences": None,
            "number": f"SCH-{rng.randint(1000, 9999)}", "note": "Retainer",
            "items": [{"amount": amount, "description": "Consulting services"}],
            "status": "active", "next_invoice_at": (self.today + timedelta(days=rng.randint(1, 30))).isoformat(),
            "created_at": self.ts(self.days_ago(300, 320)), "_company_id": company_id,
        }
        self.data["schedules"][schedule_id] = record
        return record

    def invoice(self, employment: dict, schedule: dict | None, month_back: int, number: int) -> dict:
        rng = self.rng
        issued = date(self.today.year, self.today.month, 1) - timedelta(days=30 * month_back - rng.randint(0, 20))
        status = rng.choice(INVOICE_STATUSES) if month_back < 6 else "paid_out"
        currency = schedule["currency"] if schedule else currency_of(employment["country"]["code"])
        amount = schedule["items"][0]["amount"] if schedule else rng.randint(20, 150) * 10000
        approved = status in ("approved", "pending_payment", "pay_out_scheduled", "processing", "paid_out",
                              "pay_out_failed", "externally_paid")
        invoice_id = self.uid()
        rate = 1.0 if currency == "EUR" else {"GBP": 1.17, "USD": 0.92, "BRL": 0.17, "CAD": 0.68}.get(currency, 1.0)
        record = {
            "id": invoice_id, "employment_id": employment["id"],
            "number": f"INV-{employment['short_id']}-{number:03d}", "date": issued.isoformat(),
            "due_date": (issued + timedelta(days=14)).isoformat(), "amount": amount, "currency": currency,
            "source_amount": amount, "source_currency": currency,
            "target_amount": int(amount * rate), "target_currency": "EUR",
            "status": status, "approved_at": self.ts(issued + timedelta(days=2)) if approved else None,
            "paid_out_at": self.ts(issued + timedelta(days=10)) if status == "paid_out" else None,
            "items": [{"amount": amount, "description": "Consulting services", "type": "manual"}],
            "contractor_invoice_schedule_id": schedule["id"] if schedule else None,
            "created_at": self.ts(issued), "_company_id": employment["_company_id"],
        }
        self.data["invoices"][invoice_id] = record
        return record

    def billing_documents(self, company: dict, employments: list[dict]) -> None:
        rng = self.rng
        billed = [e for e in employments if e["status"] in ("active", "offboarding") and e["type"] != "contractor"]
        for month_back in range(1, 9):
            first = date(self.today.year, self.today.month, 1)
            for _ in range(month_back):
                first = (first - timedelta(days=1)).replace(day=1)
            period = first.strftime("%Y-%m")
            for doc_type in ("reconciliation_invoice", "prefunding_invoice", "supplemental_service_invoice"):
                if doc_type == "supplemental_service_invoice" and rng.random() < 0.6:
                    continue
                doc_id = self.uid()
                number = f"RMT-{period.replace('-', '')}-{rng.randint(1000, 9999)}"
                currency = company["desired_currency"]
                rows = []
                for employment in billed[: rng.randint(8, 25)]:
                    monthly = employment["_salary"] // 12
                    source_currency = employment["_currency"]
                    fx = 1.0 if source_currency == currency else round(rng.uniform(0.8, 1.25), 4)
                    for kind, amount in (("salary", monthly), ("employer_contributions", int(monthly * 0.23)),
                                         ("management_fee", 59900)):
                        rows.append({
                            "employment_id": employment["id"], "country_code": employment["country"]["code"],
                            "type": kind, "description": f"{kind.replace('_', ' ').capitalize()} - "
                                                         f"{employment['full_name']}",
                            "invoice_number": number, "invoice_period": period,
                            "invoice_amount": int(amount * fx), "invoice_currency": currency,
                            "source_amount": amount, "source_currency": source_currency, "fx_rate": str(fx),
                            "variance_from_invoice": None, "variance_from_invoice_amount": None,
                        })
                total = sum(r["invoice_amount"] for r in rows)
                issued = first + timedelta(days=rng.randint(25, 35))
                self.data["billing_documents"][doc_id] = {
                    "id": doc_id, "company_id": company["id"], "billing_document_period": period,
                    "billing_document_type": doc_type, "bill_from": "Remote Europe Holding B.V.",
                    "billing_document_number": number, "billing_document_currency": currency,
                    "issued_date": issued.isoformat(), "total": total,
                    "items": [{"type": k, "employment_id": None,
                               "billing_document_amount": sum(r["invoice_amount"] for r in rows if r["type"] == k),
                               "billing_document_currency": currency,
                               "source_amount": sum(r["source_amount"] for r in rows if r["type"] == k),
                               "source_currency": currency}
                              for k in ("salary", "employer_contributions", "management_fee")],
                    "_breakdown": rows, "_company_id": company["id"],
                }
        # A credit note now and then.
        doc_id = self.uid()
        period = (self.today.replace(day=1) - timedelta(days=40)).strftime("%Y-%m")
        currency = company["desired_currency"]
        self.data["billing_documents"][doc_id] = {
            "id": doc_id, "company_id": company["id"], "billing_document_period": period,
            "billing_document_type": "reconciliation_credit_note", "bill_from": "Remote Europe Holding B.V.",
            "billing_document_number": f"RMT-CN-{rng.randint(1000, 9999)}", "billing_document_currency": currency,
            "issued_date": self.today.isoformat(), "total": -125000,
            "items": [{"type": "employer_contributions_credit", "employment_id": None,
                       "billing_document_amount": -125000, "billing_document_currency": currency,
                       "source_amount": -125000, "source_currency": currency}],
            "_breakdown": [], "_company_id": company["id"],
        }

    # --- payroll calendars ---------------------------------------------------------------------
    def calendars(self, companies: list[dict], countries_by_company: dict[str, set[str]]) -> None:
        for code in COUNTRIES:
            for year in (self.today.year, self.today.year + 1):
                cal_id = self.uid()
                self.data["eor_calendars"][cal_id] = {
                    "id": cal_id, "country": country_ref(code), "cycle_frequency": "monthly", "year": year,
                    "cycles": [monthly_cycle(year, month) for month in range(1, 13)],
                }
        for company in companies:
            for code in sorted(countries_by_company[company["id"]]):
                cal_id = self.uid()
                frequency = "bi_weekly" if code in ("USA", "CAN") else "monthly"
                self.data["company_calendars"][cal_id] = {
                    "id": cal_id, "country": country_ref(code), "cycle_frequency": frequency,
                    "owned_by_remote": code not in ("USA",), "_company_id": company["id"],
                }

    # --- whole seed ----------------------------------------------------------------------------
    def run(self) -> dict[str, dict[str, dict[str, Any]]]:
        rng = self.rng
        companies = []
        countries_by_company: dict[str, set[str]] = {}
        for slug, name, country, currency, domain, count, weights in COMPANY_SPECS:
            company = self.company(slug, name, country, currency, domain)
            companies.append(company)
            managers = [m["user_id"] for m in self.data["managers"].values() if m["_company_id"] == company["id"]]
            codes = rng.choices(list(weights), list(weights.values()), k=count)
            # Every weighted country appears at least once.
            codes[: len(weights)] = list(weights)
            employments = [self.employment(company, code, i, managers) for i, code in enumerate(codes)]
            countries_by_company[company["id"]] = set(codes)
            working = [e for e in employments if e["status"] in ("active", "offboarding")]
            employees = [e for e in working if e["type"] != "contractor"]
            statuses = ["requested", "approved", "declined", "cancelled", "cancel_requested", "taken"]
            for i in range(len(employees) * 3):
                status = statuses[i % len(statuses)] if i < 24 else rng.choices(statuses, [25, 30, 5, 6, 4, 30])[0]
                self.timeoff(employees[i % len(employees)], managers, status)
            ts_statuses = ["open", "submitted", "approved", "in_calibration", "processed"]
            for i, employment in enumerate(employees[:30]):
                for week in range(2):
                    status = ts_statuses[(i + week) % len(ts_statuses)] if i < 10 else \
                        rng.choices(ts_statuses, [10, 30, 30, 10, 20])[0]
                    self.timesheet(employment, status, week + 1)
            for i, employment in enumerate([e for e in employees if e["active_contract_id"]][:15]):
                status = ["submitted", "in_review", "done", "canceled", "done"][i % 5]
                self.amendment(employment, rng.choice(managers), status)
            contractors = [e for e in employments if e["type"] == "contractor" and e["status"] in ("active", "archived")]
            for i, contractor in enumerate(contractors):
                schedule = self.schedule(contractor, company["id"]) if i % 2 == 0 else None
                for month_back in range(rng.randint(3, 9)):
                    self.invoice(contractor, schedule, month_back, month_back + 1)
            self.billing_documents(company, employments)
        self.calendars(companies, countries_by_company)
        return self.data


def timeoff_days(start: date, end: date, hours: int = 8) -> list[dict]:
    days = []
    day = start
    while day <= end:
        days.append({"day": day.isoformat(), "hours": 0 if day.weekday() >= 5 else hours, "minutes": 0})
        day += timedelta(days=1)
    return days


def monthly_cycle(year: int, month: int) -> dict:
    first = date(year, month, 1)
    last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
    payment = last
    while payment.weekday() >= 5:
        payment -= timedelta(days=1)
    return {
        "start_date": first.isoformat(), "end_date": last.isoformat(),
        "input_cutoff_date": (first + timedelta(days=14)).isoformat(),
        "employee_inclusion_cutoff_date": (first + timedelta(days=9)).isoformat(),
        "payment_date": payment.isoformat(),
    }


def bi_weekly_cycles(year: int, month: int) -> list[dict]:
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    mid = first + timedelta(days=14)
    return [
        {"start_date": first.isoformat(), "end_date": (mid - timedelta(days=1)).isoformat(),
         "input_cutoff_date": (mid - timedelta(days=4)).isoformat(),
         "employee_inclusion_cutoff_date": (mid - timedelta(days=6)).isoformat(),
         "payment_date": mid.isoformat()},
        {"start_date": mid.isoformat(), "end_date": last.isoformat(),
         "input_cutoff_date": (last - timedelta(days=4)).isoformat(),
         "employee_inclusion_cutoff_date": (last - timedelta(days=6)).isoformat(),
         "payment_date": last.isoformat()},
    ]


_COPIES = SeedCopies()


def build_seed(seed: int, today: date) -> dict[str, dict[str, dict[str, Any]]]:
    def seeded() -> dict[str, dict[str, dict[str, Any]]]:
        data = Seeder(seed, today).run()
        seed_hr(seed, today, data)
        return data

    return _COPIES.get((seed, today), seeded)  # a function of the two: copied when seeded again
