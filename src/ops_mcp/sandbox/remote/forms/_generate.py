"""Regenerates the country form data files in `data/` (maintenance script, not used at run time).

The JSON files are the source of truth the emulator serves; this script only exists so that a
change to a shared field (say, the seniority-date conditional) is made once and not in 40 files.
Run: `python -m ops_mcp.sandbox.remote.forms._generate`.

The shapes follow Remote's real forms (remoteoss/remote-flows fixtures): `additionalProperties:
false`, `oneOf` const/title choices, `allOf` if/then/else with `false` for forbidden fields,
`x-jsf-presentation`, `x-jsf-order`, `x-jsf-errorMessage`, `x-jsf-logic`.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"

# country code -> (currency, currency symbol, full-time annual minimum in cents, full-time hours)
COUNTRIES: dict[str, tuple[str, str, int, int]] = {
    "PRT": ("EUR", "€", 1218000, 40),
    "DEU": ("EUR", "€", 2666600, 40),
    "FRA": ("EUR", "€", 2120000, 35),
    "USA": ("USD", "$", 1508000, 40),
    "GBR": ("GBP", "£", 2300000, 40),
}
COUNTRY_NAMES = {"PRT": "Portugal", "DEU": "Germany", "FRA": "France", "USA": "United States", "GBR": "United Kingdom"}

# Per-country identifiers: (field, title, regex, example shown in the error message)
PERSONAL_TAX_ID = {
    "PRT": ("nif", "Tax identification number (NIF)", r"^\d{9}$", "123456789"),
    "DEU": ("tax_id", "Tax ID (Steuer-ID)", r"^\d{11}$", "12345678901"),
    "FRA": ("social_security_number", "Social security number", r"^[12]\d{14}$", "185057800608436"),
    "USA": ("ssn", "Social Security Number", r"^\d{3}-\d{2}-\d{4}$", "123-45-6789"),
    "GBR": ("national_insurance_number", "National Insurance number", r"^[A-Z]{2}\d{6}[A-D]$", "QQ123456C"),
}
POSTAL_CODE = {
    "PRT": (r"^\d{4}-\d{3}$", "1000-001"),
    "DEU": (r"^\d{5}$", "10115"),
    "FRA": (r"^\d{5}$", "75001"),
    "USA": (r"^\d{5}(-\d{4})?$", "94105"),
    "GBR": (r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", "SW1A 1AA"),
}
COMPANY_TAX = {
    "PRT": (r"^PT\d{9}$", "PT123456789"),
    "DEU": (r"^DE\d{9}$", "DE123456789"),
    "FRA": (r"^FR[A-Z0-9]{2}\d{9}$", "FR12345678901"),
    "USA": (r"^\d{2}-\d{7}$", "12-3456789"),
    "GBR": (r"^GB\d{9}$", "GB123456789"),
}
US_STATES = [("CA", "California"), ("NY", "New York"), ("TX", "Texas"), ("WA", "Washington"), ("FL", "Florida")]
TAX_JOB_CATEGORIES = [
    ("engineering_it", "Engineering/IT"), ("sales", "Sales"), ("marketing", "Marketing"),
    ("finance", "Finance"), ("operations", "Operations"), ("human_resources", "Human resources"),
    ("customer_support", "Customer support"), ("legal", "Legal"),
]
ALL_COUNTRY_NAMES = [
    "Portugal", "Germany", "France", "United States", "United Kingdom", "Spain", "Netherlands", "Brazil",
    "Ireland", "Canada",
]


def _text(title: str, **extra) -> dict:
    return {"type": "string", "title": title, "maxLength": 255, "x-jsf-presentation": {"inputType": "text"}, **extra}


def _choice(title: str, options: list[tuple[str, str]], input_type: str = "select", **extra) -> dict:
    return {
        "type": "string",
        "title": title,
        "oneOf": [{"const": value, "title": label} for value, label in options],
        "x-jsf-presentation": {"inputType": input_type, **({"direction": "row"} if input_type == "radio" else {})},
        **extra,
    }


def _date(title: str, nullable: bool = False, **presentation) -> dict:
    return {
        "type": ["string", "null"] if nullable else "string",
        "format": "date",
        "title": title,
        "x-jsf-presentation": {"inputType": "date", **presentation},
    }


def _forbid_unless(field: str, when_field: str, value, then_required: list[str] | None = None) -> dict:
    """The real forms' conditional: `field` is required when `when_field == value`, forbidden otherwise."""
    return {
        "if": {"properties": {when_field: {"const": value}}, "required": [when_field]},
        "then": {"required": then_required or [field]},
        "else": {"properties": {field: False}},
    }


def _form(properties: dict, required: list[str], all_of: list | None = None, logic: dict | None = None) -> dict:
    form: dict = {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        "x-jsf-order": list(properties),
    }
    if all_of:
        form["allOf"] = all_of
    if logic:
        form["x-jsf-logic"] = logic
    return form


def basic_information(code: str | None) -> dict:
    props = {
        "name": _text("Full name", pattern=r"\S"),
        "email": {"type": "string", "format": "email", "title": "Personal email", "maxLength": 255,
                  "x-jsf-presentation": {"inputType": "email"}},
        "work_email": {"type": ["string", "null"], "format": "email", "title": "Work email", "maxLength": 255,
                       "x-jsf-presentation": {"inputType": "email"}},
        "job_title": _text("Job title"),
        "tax_servicing_countries": {
            "type": "array", "title": "Tax servicing countries", "uniqueItems": True,
            "items": {"enum": ALL_COUNTRY_NAMES}, "x-jsf-presentation": {"inputType": "countries"},
        },
        "tax_job_category": _choice("Job category", TAX_JOB_CATEGORIES),
        "provisional_start_date": {
            **_date("Provisional start date", minDate="{{min_start_date}}", meta={"mot": 20}, blockedDates=[]),
            "x-jsf-logic-validations": ["blocked_date_validation"],
        },
        "has_seniority_date": _choice("Does the employee have a seniority date?", [("yes", "Yes"), ("no", "No")],
                                      "radio"),
        "seniority_date": _date("Seniority date", nullable=True),
    }
    required = ["has_seniority_date", "name", "email", "job_title", "provisional_start_date"]
    if code == "PRT":
        required += ["tax_servicing_countries", "tax_job_category"]
    if code == "USA":
        props["work_state"] = _choice("Work state", US_STATES, description="US state where the employee works.")
        required.append("work_state")
    if code == "FRA":
        props["is_cadre"] = _choice("Executive (cadre) status", [("yes", "Cadre"), ("no", "Non-cadre")], "radio")
        required.append("is_cadre")
    logic = {"validations": {"blocked_date_validation": {
        "errorMessage": "Date is blocked: it falls on a public holiday or weekend.",
        "rule": {"!": {"in": [{"var": "provisional_start_date"}, []]}},
    }}}
    return _form(props, required, [_forbid_unless("seniority_date", "has_seniority_date", "yes")], logic)


def _money(title: str, currency: str, description: str) -> dict:
    return {
        "type": "integer", "title": title, "description": description,
        "x-jsf-errorMessage": {"type": "Please, use US standard currency format. Ex: 1024.12"},
        "x-jsf-presentation": {"inputType": "money", "currency": currency},
    }


def _salary_rules(code: str | None, currency: str, symbol: str, minimum: int, hours: int) -> list:
    country = COUNTRY_NAMES.get(code or "", "this country")
    return [
        {
            "if": {"properties": {"work_schedule": {"const": "full_time"}}, "required": ["work_schedule"]},
            "then": {"properties": {
                "annual_gross_salary": {
                    "minimum": minimum,
                    "x-jsf-errorMessage": {"minimum": (
                        f"In {country}, full-time employees are entitled to a minimum annual salary of "
                        f"{symbol}{minimum / 100:,.2f}."
                    )},
                },
                "work_hours_per_week": {"const": hours, "default": hours, "x-jsf-presentation": {
                    "statement": {"title": f"Total of <b>{hours} hours</b> per week."}}},
            }},
        },
        {
            "if": {"properties": {"work_schedule": {"const": "part_time"}}, "required": ["work_schedule"]},
            "then": {"properties": {"work_hours_per_week": {"minimum": 1, "maximum": hours - 1}},
                     "required": ["work_hours_per_week"]},
        },
        _forbid_unless("contract_end_date", "contract_duration_type", "fixed_term"),
    ]


def contract_details(code: str | None, currency: str, symbol: str, minimum: int, hours: int) -> dict:
    props = {
        "annual_gross_salary": _money("Annual gross salary", currency, f"Annual gross salary in {currency}."),
        "work_schedule": _choice("Work schedule", [("full_time", "Full-time"), ("part_time", "Part-time")], "radio"),
        "work_hours_per_week": {"type": "integer", "title": "Work hours per week",
                                "x-jsf-presentation": {"inputType": "number"}},
        "contract_duration_type": _choice("Contract duration",
                                          [("indefinite", "Indefinite"), ("fixed_term", "Fixed Term")], "radio"),
        "contract_end_date": _date("Contract end date"),
        "role_description": {"type": "string", "title": "Role description", "minLength": 20, "maxLength": 10000,
                             "description": "Please add at least 3 responsibilities.",
                             "x-jsf-presentation": {"inputType": "textarea"}},
        "probation_length_days": {"type": "integer", "title": "Probation period (days)", "minimum": 0,
                                  "maximum": 180, "x-jsf-presentation": {"inputType": "number"}},
        "paid_time_off_days": {"type": "integer", "title": "Paid time off (days per year)", "minimum": 20,
                               "maximum": 60, "x-jsf-presentation": {"inputType": "number"}},
    }
    required = ["annual_gross_salary", "work_schedule", "contract_duration_type", "role_description"]
    if code == "USA":
        props["flsa_classification"] = _choice("FLSA classification",
                                               [("exempt", "Exempt"), ("non_exempt", "Non-exempt")], "radio")
        props["paid_time_off_days"]["minimum"] = 10
        required.append("flsa_classification")
    if code == "DEU":
        props["has_bonus"] = {"type": "boolean", "title": "Eligible for a bonus",
                              "x-jsf-presentation": {"inputType": "checkbox"}}
    if code == "GBR":
        props["pension_scheme"] = _choice("Pension scheme", [("auto_enrolment", "Auto-enrolment"),
                                                              ("opt_out", "Opted out")], "radio")
        props["paid_time_off_days"]["minimum"] = 28
    return _form(props, required, _salary_rules(code, currency, symbol, minimum, hours))


def contract_amendment(code: str | None, currency: str, symbol: str, minimum: int, hours: int) -> dict:
    props = {
        "job_title": _text("Job title", description="Role of the employee"),
        "annual_gross_salary": _money("Annual gross salary", currency, f"Annual gross salary in {currency}."),
        "work_schedule": _choice("Work schedule", [("full_time", "Full-time"), ("part_time", "Part-time")], "radio"),
        "work_hours_per_week": {"type": "integer", "title": "Work hours per week",
                                "x-jsf-presentation": {"inputType": "number"}},
        "contract_duration_type": _choice("Contract duration",
                                          [("indefinite", "Indefinite"), ("fixed_term", "Fixed Term")], "radio"),
        "contract_end_date": _date("Contract end date"),
        "effective_date": _date("Effective date of change", nullable=True, minDate="{{today}}"),
        "reason_for_change": {
            "type": ["string", "null"], "title": "Reason for change",
            "description": "This is for internal reference only.",
            "oneOf": [{"const": v, "title": t} for v, t in [
                ("annual_pay_adjustment", "Annual pay adjustment"), ("error_correction", "Error correction"),
                ("job_change_reevaluation", "Job change/reevaluation"), ("promotion", "Promotion"),
                ("other", "Other")]] + [{"const": None, "title": "N/A"}],
            "x-jsf-presentation": {"inputType": "select"},
        },
        "reason_for_change_description": {"type": "string", "title": "Please specify the reasons for this change",
                                          "maxLength": 1000, "x-jsf-presentation": {"inputType": "textarea"}},
        "additional_comments_toggle": {"type": "boolean", "title": "I need to make additional changes",
                                       "x-jsf-presentation": {"inputType": "checkbox"}},
        "additional_comments": {"type": "string", "title": "Additional changes", "maxLength": 20000,
                                "x-jsf-presentation": {"inputType": "textarea"}},
    }
    rules = _salary_rules(code, currency, symbol, minimum, hours) + [
        _forbid_unless("reason_for_change_description", "reason_for_change", "other"),
        _forbid_unless("additional_comments", "additional_comments_toggle", True),
    ]
    return _form(props, ["effective_date", "reason_for_change"], rules)


def personal_details(code: str | None) -> dict:
    props = {
        "date_of_birth": _date("Date of birth"),
        "nationality": {"type": "string", "title": "Nationality", "enum": ALL_COUNTRY_NAMES,
                        "x-jsf-presentation": {"inputType": "countries"}},
        "phone_number": {"type": "string", "title": "Phone number", "pattern": r"^\+[1-9]\d{6,14}$",
                         "x-jsf-errorMessage": {"pattern": "Must be an international number, e.g. +351912345678"},
                         "x-jsf-presentation": {"inputType": "tel"}},
        "marital_status": _choice("Marital status", [("single", "Single"), ("married", "Married"),
                                                     ("divorced", "Divorced"), ("widowed", "Widowed")]),
    }
    required = ["date_of_birth", "nationality", "phone_number"]
    if code in PERSONAL_TAX_ID:
        field, title, pattern, example = PERSONAL_TAX_ID[code]
        props[field] = {"type": "string", "title": title, "pattern": pattern,
                        "x-jsf-errorMessage": {"pattern": f"Invalid format, e.g. {example}"},
                        "x-jsf-presentation": {"inputType": "text"}}
        required.append(field)
    return _form(props, required)


def address_details(code: str | None) -> dict:
    props = {
        "address": _text("Address"),
        "address_line_2": {**_text("Address line 2"), "type": ["string", "null"]},
        "city": _text("City"),
        "postal_code": _text("Postal code"),
    }
    if code in POSTAL_CODE:
        pattern, example = POSTAL_CODE[code]
        props["postal_code"].update(pattern=pattern, **{"x-jsf-errorMessage": {
            "pattern": f"Invalid postal code, e.g. {example}"}})
    required = ["address", "city", "postal_code"]
    if code == "USA":
        props["state"] = _choice("State", US_STATES)
        required.append("state")
    return _form(props, required)


def pricing_plan_details(_code: str | None) -> dict:
    return _form({"frequency": _choice("Billing frequency", [("monthly", "Monthly"), ("annually", "Annually")],
                                       "radio", description="How often Remote invoices the management fee.")},
                 ["frequency"])


def emergency_contact_details(_code: str | None) -> dict:
    return _form({
        "name": _text("Full name"),
        "relationship": _choice("Relationship", [("partner", "Partner"), ("parent", "Parent"),
                                                 ("sibling", "Sibling"), ("friend", "Friend"), ("other", "Other")]),
        "phone_number": {"type": "string", "title": "Phone number", "pattern": r"^\+[1-9]\d{6,14}$",
                         "x-jsf-presentation": {"inputType": "tel"}},
        "email": {"type": ["string", "null"], "format": "email", "title": "Email",
                  "x-jsf-presentation": {"inputType": "email"}},
    }, ["name", "relationship", "phone_number"])


def administrative_details(code: str | None) -> dict:
    props = {
        "tax_identification_number": _text("Tax identification number"),
        "marital_status": _choice("Marital status", [("single", "Single"), ("married", "Married"),
                                                     ("divorced", "Divorced"), ("widowed", "Widowed")]),
        "number_of_dependents": {"type": "integer", "title": "Number of dependents", "minimum": 0, "maximum": 20,
                                 "x-jsf-presentation": {"inputType": "number"}},
    }
    if code in PERSONAL_TAX_ID:
        _field, title, pattern, example = PERSONAL_TAX_ID[code]
        props["tax_identification_number"].update(title=title, pattern=pattern, **{"x-jsf-errorMessage": {
            "pattern": f"Invalid {title}, e.g. {example}"}})
    return _form(props, ["tax_identification_number", "marital_status"])


def bank_account_details(_code: str | None) -> dict:
    return _form({
        "account_holder": _text("Account holder"),
        "bank_name": _text("Bank name"),
        "iban": {"type": "string", "title": "IBAN or account number", "pattern": r"^[A-Z0-9]{8,34}$",
                 "x-jsf-presentation": {"inputType": "text"},
                 "x-jsf-errorMessage": {"pattern": "Use capital letters and digits only, e.g. PT50000201231234567890154"}},
        "swift_bic": {"type": ["string", "null"], "title": "SWIFT/BIC", "pattern": r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$",
                      "x-jsf-presentation": {"inputType": "text"}},
    }, ["account_holder", "iban"])


def billing_address_details(code: str | None) -> dict:
    return address_details(code)


def company_basic_information(code: str | None) -> dict:
    props = {
        "name": _text("Company legal name"),
        "tax_number": _text("Tax number (VAT)"),
        "registration_number": {**_text("Company registration number"), "type": ["string", "null"]},
        "phone_number": {"type": "string", "title": "Phone number", "pattern": r"^\+[1-9]\d{6,14}$",
                         "x-jsf-presentation": {"inputType": "tel"}},
        "address": _text("Registered address"),
        "city": _text("City"),
        "postal_code": _text("Postal code"),
    }
    if code in COMPANY_TAX:
        pattern, example = COMPANY_TAX[code]
        props["tax_number"].update(pattern=pattern, **{"x-jsf-errorMessage": {
            "pattern": f"Invalid tax number, e.g. {example}"}})
    return _form(props, ["name", "tax_number", "address", "city", "postal_code"])


def forms_for(code: str | None) -> dict[str, dict]:
    currency, symbol, minimum, hours = COUNTRIES.get(code or "", ("{{currency}}", "", 1000000, 40))
    return {
        "employment_basic_information": basic_information(code),
        "contract_details": contract_details(code, currency, symbol, minimum, hours),
        "personal_details": personal_details(code),
        "address_details": address_details(code),
        "pricing_plan_details": pricing_plan_details(code),
        "emergency_contact_details": emergency_contact_details(code),
        "contract_amendment": contract_amendment(code, currency, symbol, minimum, hours),
        "company_basic_information": company_basic_information(code),
        "administrative_details": administrative_details(code),
        "bank_account_details": bank_account_details(code),
        "billing_address_details": billing_address_details(code),
    }


def main() -> None:
    for code in [*COUNTRIES, None]:
        folder = DATA / (code or "_generic")
        folder.mkdir(parents=True, exist_ok=True)
        for name, schema in forms_for(code).items():
            (folder / f"{name}.json").write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
