"""Made-up identifiers that pass real checks: IBANs with correct mod-97 check digits, vehicle registrations."""

from __future__ import annotations

import random
import string

# BBAN patterns: "n" a digit, "a" an upper-case letter, "c" a digit or letter.
BBAN_FORMATS = {
    "DE": "nnnnnnnnnnnnnnnnnn",
    "FR": "nnnnnnnnnnccccccccccnnn",
    "NL": "aaaannnnnnnnnn",
    "GB": "aaaannnnnnnnnnnnnn",
    "IT": "annnnnnnnnncccccccccccc",
}


def _draw(rng: random.Random, pattern: str) -> str:
    pools = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}
    return "".join(rng.choice(pools[kind]) for kind in pattern)


def iban_check_digits(country: str, bban: str) -> str:
    """Return the two ISO 13616 check digits for a country code and BBAN."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(char, 36)) for char in rearranged))
    return f"{98 - number % 97:02d}"


def is_valid_iban(iban: str) -> bool:
    """Return True when `iban` (spaces allowed) passes the mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if len(compact) < 15 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def make_iban(rng: random.Random, country: str) -> str:
    """Return a valid IBAN for `country` (DE, FR, NL, GB, IT), without spaces."""
    bban = _draw(rng, BBAN_FORMATS[country])
    return country + iban_check_digits(country, bban) + bban


def group_iban(iban: str) -> str:
    """Return the IBAN printed in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def make_registration(rng: random.Random, country: str) -> str:
    """Return a plausible vehicle registration in the style of `country`."""
    letters = string.ascii_uppercase
    if country == "GB":
        return f"{_draw(rng, 'aa')}{rng.randint(10, 75)} {_draw(rng, 'aaa')}"
    if country == "DE":
        city = rng.choice(("KA", "B", "M", "HH", "K", "S"))
        return f"{city}-{rng.choice(letters)}{rng.choice(letters)} {rng.randint(1, 9999)}"
    if country == "FR":
        return f"{_draw(rng, 'aa')}-{rng.randint(100, 999)}-{_draw(rng, 'aa')}"
    if country == "NL":
        return f"{rng.randint(1, 99):02d}-{_draw(rng, 'aaa')}-{rng.randint(1, 9)}"
    return f"{_draw(rng, 'aa')} {rng.randint(100, 999)} {_draw(rng, 'aa')}"
