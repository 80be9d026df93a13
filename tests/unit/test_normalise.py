from datetime import date
from decimal import Decimal

import pytest

from claimflow.normalise import (
    find_currency,
    is_valid_iban,
    is_valid_luhn,
    normalise_code,
    normalise_currency,
    parse_date,
    parse_iban,
    parse_money,
)


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("1,234.56", "1234.56", None),
        ("1.234,56", "1234.56", None),
        ("1 234,56 €", "1234.56", "EUR"),
        ("€ 399,00", "399.00", "EUR"),
        ("$ 279.84", "279.84", "USD"),
        ("RM 9.00", "9.00", "MYR"),
        ("Rs 1939", "1939.00", "INR"),
        ("316,83 PLN", "316.83", "PLN"),
        ("£12", "12.00", "GBP"),
        ("396 | 90", "396.90", None),
        ("-0.02", "-0.02", None),
        ("1,234,567.8", "1234567.80", None),
        ("12.345.678,90", "12345678.90", None),
    ],
)
def test_parse_money_reads_both_decimal_conventions(raw: str, amount: str, currency: str | None) -> None:
    parsed = parse_money(raw)
    assert parsed.amount == Decimal(amount)
    assert parsed.currency == currency
    assert not parsed.ambiguous


def test_parse_money_flags_three_decimals_as_ambiguous_without_locale() -> None:
    parsed = parse_money("1.234")
    assert parsed.ambiguous
    assert parsed.amount == Decimal("1234.00")


@pytest.mark.parametrize(("decimal_comma", "amount"), [(True, "1234.00"), (False, "1.23")])
def test_parse_money_locale_decides_three_decimals(decimal_comma: bool, amount: str) -> None:
    parsed = parse_money("1.234", decimal_comma=decimal_comma)
    assert not parsed.ambiguous
    assert parsed.amount == Decimal(amount)


def test_parse_money_without_digits_raises() -> None:
    with pytest.raises(ValueError, match="no amount"):
        parse_money("Total due")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06/03/2018", date(2018, 3, 6)),
        ("25-12-18", date(2018, 12, 25)),
        ("15 JUN 2018", date(2018, 6, 15)),
        ("15-Jun-2018", date(2018, 6, 15)),
        ("2018-03-06", date(2018, 3, 6)),
        ("19 april 2014", date(2014, 4, 19)),
        ("02 Juillet 2015", date(2015, 7, 2)),
        ("Jan 1, 2022", date(2022, 1, 1)),
        ("Date: 12.03.2018 10:25", date(2018, 3, 12)),
    ],
)
def test_parse_date_day_first_formats(raw: str, expected: date) -> None:
    assert parse_date(raw, day_first=True).value == expected


def test_parse_date_without_locale_marks_swappable_dates_ambiguous() -> None:
    parsed = parse_date("01/02/2026")
    assert parsed.ambiguous
    assert parsed.value == date(2026, 2, 1)
    assert not parse_date("13/02/2026").ambiguous
    assert parse_date("02/13/2026").value == date(2026, 2, 13)


def test_parse_date_month_first_locale_and_spaced_us_form_dates() -> None:
    assert parse_date("01/02/2026", day_first=False).value == date(2026, 1, 2)
    assert parse_date("10 16 66", day_first=False, month_first_spaced=True).value == date(1966, 10, 16)
    assert parse_date("02 | 10 | 17", day_first=False, month_first_spaced=True).value == date(2017, 2, 10)


def test_parse_date_rejects_text_without_a_date() -> None:
    with pytest.raises(ValueError, match="no date"):
        parse_date("Date of loss (DD/MM/YYYY):")


def test_iban_mod97() -> None:
    assert is_valid_iban("DE89 3704 0044 0532 0130 00")
    assert parse_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert not is_valid_iban("DE89 3704 0044 0532 0130 01")
    with pytest.raises(ValueError, match="mod-97"):
        parse_iban("GB82 WEST 1234 5698 7654 31")
    assert parse_iban("GB82 WEST 1234 5698 7654 32") == "GB82WEST12345698765432"


def test_luhn() -> None:
    assert is_valid_luhn("4539 1488 0343 6467")
    assert not is_valid_luhn("4539 1488 0343 6468")


def test_currency_symbols_and_codes() -> None:
    assert find_currency("Total TTC : 56,02 €") == "EUR"
    assert find_currency("TOTAL RM 9.00") == "MYR"
    assert find_currency("316,83 zł") == "PLN"
    assert find_currency("FORM 12") is None
    assert normalise_currency("gbp") == "GBP"
    assert normalise_currency("£") == "GBP"
    with pytest.raises(ValueError):
        normalise_currency("pounds please")


def test_normalise_code_drops_spaces_and_brackets() -> None:
    assert normalise_code(" (b525.00 ") == "B525.00"
    assert normalise_code("AB12 CDE") == "AB12CDE"


def test_repair_iban_only_where_the_country_layout_forces_digits() -> None:
    from claimflow.normalise import repair_iban

    assert repair_iban("DE89 37O4 OO44 O532 O13O OO") == "DE89370400440532013000"
    assert repair_iban("DE89 3704 0044 0532 0130 01") is None  # a real digit error cannot be repaired
    assert repair_iban("XX89 37O4") is None  # unknown layout: no guessing
    assert repair_iban("IT16M45O749528BDS5HFOPSRJ182") is None  # wrong length (OCR inserted a character)
