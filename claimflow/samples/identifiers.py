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
    """Return a valid IBAN for `country` (DE, FR, NL, GB, IT), without spaces.

    French and Italian account numbers carry a check key of their own, as real ones do: the RIB key (the last
    two digits) and the CIN letter (the first character). The draws are the same as before the keys were made
    (the key replaces drawn characters), so a seed's other values do not move.
    """
    bban = _draw(rng, BBAN_FORMATS[country])
    if country == "FR":
        bban = bban[:21] + rib_key(bban[:5], bban[5:10], bban[10:21])
    elif country == "IT":
        bban = cin_letter(bban[1:]) + bban[1:]
    return country + iban_check_digits(country, bban) + bban


def rib_key(bank: str, branch: str, account: str) -> str:
    """Return the French RIB key: 97 - (89 x bank + 15 x branch + 3 x account) mod 97, letters as digits.

    In the account number a letter stands for a digit: A-I 1-9, J-R 1-9, S-Z 2-9 (the banks' published table).
    """
    digits = {letter: str(index % 9 + 1) for index, letter in enumerate("ABCDEFGHIJKLMNOPQR")}
    digits.update({letter: str(index + 2) for index, letter in enumerate("STUVWXYZ")})
    number = int("".join(digits.get(char, char) for char in account))
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * number) % 97:02d}"


def cin_letter(rest: str) -> str:
    """Return the Italian CIN letter of a bank code, branch code and account number (22 characters).

    Characters at odd places (1st, 3rd, ...) count by the odd table, at even places by their value (0-9, A-Z 0-25);
    the sum modulo 26 is the letter.
    """
    odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
    total = 0
    for place, char in enumerate(rest, start=1):
        value = string.digits.index(char) if char.isdigit() else string.ascii_uppercase.index(char)
        total += odd[value] if place % 2 else value
    return string.ascii_uppercase[total % 26]


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
