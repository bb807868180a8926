"""Static country data (supported countries, subdivisions, currencies) and public holidays."""

from __future__ import annotations

from datetime import date, timedelta

from ops_mcp.sandbox.remote.forms import FORM_NAMES

# code -> (alpha-2, name, region, currency, IANA timezone, subdivisions)
COUNTRIES: dict[str, tuple[str, str, str, str, str, list[tuple[str, str]]]] = {
    "PRT": ("PT", "Portugal", "Europe", "EUR", "Europe/Lisbon", [("PT-11", "Lisboa"), ("PT-13", "Porto")]),
    "DEU": ("DE", "Germany", "Europe", "EUR", "Europe/Berlin", [("DE-BE", "Berlin"), ("DE-BY", "Bayern")]),
    "FRA": ("FR", "France", "Europe", "EUR", "Europe/Paris", [("FR-IDF", "Île-de-France")]),
    "USA": ("US", "United States", "North America", "USD", "America/New_York",
            [("US-CA", "California"), ("US-NY", "New York"), ("US-TX", "Texas")]),
    "GBR": ("GB", "United Kingdom", "Europe", "GBP", "Europe/London", [("GB-ENG", "England"), ("GB-SCT", "Scotland")]),
    "ESP": ("ES", "Spain", "Europe", "EUR", "Europe/Madrid", [("ES-MD", "Madrid"), ("ES-CT", "Catalonia")]),
    "NLD": ("NL", "Netherlands", "Europe", "EUR", "Europe/Amsterdam", [("NL-NH", "Noord-Holland")]),
    "BRA": ("BR", "Brazil", "South America", "BRL", "America/Sao_Paulo", [("BR-SP", "São Paulo")]),
    "IRL": ("IE", "Ireland", "Europe", "EUR", "Europe/Dublin", []),
    "CAN": ("CA", "Canada", "North America", "CAD", "America/Toronto", [("CA-ON", "Ontario"), ("CA-QC", "Quebec")]),
}


def currency_of(code: str) -> str:
    return COUNTRIES[code][3]


def timezone_of(code: str) -> str:
    return COUNTRIES[code][4]


def country_ref(code: str) -> dict:
    alpha2, name, *_ = COUNTRIES[code]
    return {"code": code, "alpha_2_code": alpha2, "name": name}


def country_resource(code: str) -> dict:
    alpha2, name, region, currency, _tz, subdivisions = COUNTRIES[code]
    return {
        "code": code,
        "alpha_2_code": alpha2,
        "name": name,
        "region": region,
        "currency": currency,
        "country_subdivisions": [{"code": c, "name": n, "subdivision_type": "state"} for c, n in subdivisions],
        "supported_json_schemas": list(FORM_NAMES),
        "eor_onboarding": True,
        "availability": "active",
    }


def _easter(year: int) -> date:
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = ((h + l_ - 7 * m + 114) % 31) + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """n-th (1-based; -1 = last) `weekday` (Mon=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


_FIXED: dict[str, list[tuple[int, int, str]]] = {
    "PRT": [(1, 1, "New Year's Day"), (4, 25, "Freedom Day"), (5, 1, "Labour Day"), (6, 10, "Portugal Day"),
            (8, 15, "Assumption Day"), (10, 5, "Republic Day"), (11, 1, "All Saints' Day"),
            (12, 1, "Restoration of Independence"), (12, 8, "Immaculate Conception"), (12, 25, "Christmas Day")],
    "DEU": [(1, 1, "Neujahr"), (5, 1, "Tag der Arbeit"), (10, 3, "Tag der Deutschen Einheit"),
            (12, 25, "Erster Weihnachtstag"), (12, 26, "Zweiter Weihnachtstag")],
    "FRA": [(1, 1, "Jour de l'an"), (5, 1, "Fête du Travail"), (5, 8, "Victoire 1945"), (7, 14, "Fête nationale"),
            (8, 15, "Assomption"), (11, 1, "Toussaint"), (11, 11, "Armistice 1918"), (12, 25, "Noël")],
    "USA": [(1, 1, "New Year's Day"), (6, 19, "Juneteenth"), (7, 4, "Independence Day"),
            (11, 11, "Veterans Day"), (12, 25, "Christmas Day")],
    "GBR": [(1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")],
    "ESP": [(1, 1, "Año Nuevo"), (1, 6, "Epifanía del Señor"), (5, 1, "Fiesta del Trabajo"),
            (8, 15, "Asunción de la Virgen"), (10, 12, "Fiesta Nacional de España"), (11, 1, "Todos los Santos"),
            (12, 6, "Día de la Constitución"), (12, 8, "Inmaculada Concepción"), (12, 25, "Navidad")],
    "NLD": [(1, 1, "Nieuwjaarsdag"), (4, 27, "Koningsdag"), (5, 5, "Bevrijdingsdag"), (12, 25, "Eerste Kerstdag"),
            (12, 26, "Tweede Kerstdag")],
    "BRA": [(1, 1, "Confraternização Universal"), (4, 21, "Tiradentes"), (5, 1, "Dia do Trabalho"),
            (9, 7, "Independência do Brasil"), (10, 12, "Nossa Senhora Aparecida"), (11, 2, "Finados"),
            (11, 15, "Proclamação da República"), (11, 20, "Dia da Consciência Negra"), (12, 25, "Natal")],
    "IRL": [(1, 1, "New Year's Day"), (3, 17, "Saint Patrick's Day"), (12, 25, "Christmas Day"),
            (12, 26, "Saint Stephen's Day")],
    "CAN": [(1, 1, "New Year's Day"), (7, 1, "Canada Day"), (9, 30, "National Day for Truth and Reconciliation"),
            (11, 11, "Remembrance Day"), (12, 25, "Christmas Day")],
}

# Easter-relative holidays: offset in days from Easter Sunday.
_EASTER: dict[str, list[tuple[int, str]]] = {
    "PRT": [(-2, "Good Friday"), (0, "Easter Sunday"), (60, "Corpus Christi")],
    "DEU": [(-2, "Karfreitag"), (1, "Ostermontag"), (39, "Christi Himmelfahrt"), (50, "Pfingstmontag")],
    "FRA": [(1, "Lundi de Pâques"), (39, "Ascension"), (50, "Lundi de Pentecôte")],
    "GBR": [(-2, "Good Friday"), (1, "Easter Monday")],
    "ESP": [(-2, "Viernes Santo")],
    "NLD": [(-2, "Goede Vrijdag"), (1, "Tweede Paasdag"), (39, "Hemelvaartsdag"), (50, "Tweede Pinksterdag")],
    "BRA": [(-48, "Carnaval"), (-47, "Carnaval"), (-2, "Sexta-feira Santa"), (60, "Corpus Christi")],
    "IRL": [(1, "Easter Monday")],
    "CAN": [(-2, "Good Friday")],
}


def _weekday_rules(code: str, year: int) -> list[tuple[date, str]]:
    if code == "USA":
        return [(_nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
                (_nth_weekday(year, 2, 0, 3), "Washington's Birthday"),
                (_nth_weekday(year, 5, 0, -1), "Memorial Day"), (_nth_weekday(year, 9, 0, 1), "Labor Day"),
                (_nth_weekday(year, 10, 0, 2), "Columbus Day"), (_nth_weekday(year, 11, 3, 4), "Thanksgiving Day")]
    if code == "GBR":
        return [(_nth_weekday(year, 5, 0, 1), "Early May bank holiday"),
                (_nth_weekday(year, 5, 0, -1), "Spring bank holiday"),
                (_nth_weekday(year, 8, 0, -1), "Summer bank holiday")]
    if code == "IRL":
        return [(_nth_weekday(year, 5, 0, 1), "May Day"), (_nth_weekday(year, 6, 0, 1), "June Bank Holiday"),
                (_nth_weekday(year, 8, 0, 1), "August Bank Holiday"),
                (_nth_weekday(year, 10, 0, -1), "October Bank Holiday")]
    if code == "CAN":
        return [(_nth_weekday(year, 9, 0, 1), "Labour Day"), (_nth_weekday(year, 10, 0, 2), "Thanksgiving")]
    return []


def _observed(day: date, code: str) -> date:
    # UK, US, Ireland and Canada move weekend holidays to the next Monday; the rest do not.
    if code not in ("USA", "GBR", "IRL", "CAN") or day.weekday() < 5:
        return day
    return day + timedelta(days=7 - day.weekday())


def holidays(code: str, year: int) -> list[dict]:
    days: list[tuple[date, str]] = [(date(year, m, d), name) for m, d, name in _FIXED.get(code, [])]
    easter = _easter(year)
    days += [(easter + timedelta(days=offset), name) for offset, name in _EASTER.get(code, [])]
    days += _weekday_rules(code, year)
    result = []
    for day, name in sorted(days):
        observed = _observed(day, code)
        result.append({
            "day": day.isoformat(),
            "name": name,
            "note": "Observed on the following Monday" if observed != day else None,
            "observed_day": observed.isoformat(),
        })
    return result
