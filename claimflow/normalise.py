"""Normalisers: raw strings read from a document to typed values (Decimal money, dates, identifiers).

Each `parse_*` function returns a small result carrying the value and whether reading it needed a
guess (ambiguity), or raises `ValueError` when the text is not a value of that type at all. Callers
turn ambiguity and failures into confidence and `models.Problem`s; nothing here logs or knows about specs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from claimflow.capital_numerals import has_capital_amount, parse_capital_amount

CENT = Decimal("0.01")

CURRENCY_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("人民币", "CNY"),
    ("RMB", "CNY"),
    ("CNY", "CNY"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("US$", "USD"),
    ("$", "USD"),
    ("₹", "INR"),
    ("RS", "INR"),
    ("INR", "INR"),
    ("RM", "MYR"),
    ("MYR", "MYR"),
    ("ZŁ", "PLN"),
    ("PLN", "PLN"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("USD", "USD"),
    ("CHF", "CHF"),
)
ISO_CURRENCIES = frozenset(code for _, code in CURRENCY_SYMBOLS)

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "janvier", "januari", "stycznia"),
            ("feb", "february", "fevrier", "février", "februari", "lutego"),
            ("mar", "march", "mars", "maart", "marca"),
            ("apr", "april", "avril", "kwietnia"),
            ("may", "mai", "mei", "maja"),
            ("jun", "june", "juin", "juni", "czerwca"),
            ("jul", "july", "juillet", "juli", "lipca"),
            ("aug", "august", "aout", "août", "augustus", "sierpnia"),
            ("sep", "sept", "september", "septembre", "wrzesnia", "września"),
            ("oct", "october", "octobre", "oktober", "pazdziernika", "października"),
            ("nov", "november", "novembre", "listopada"),
            ("dec", "december", "decembre", "décembre", "grudnia"),
        ),
        start=1,
    )
    for name in names
}

_AMOUNT_RE = re.compile(r"[-(]?\d[\d\s.,']*")
_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")


@dataclass(frozen=True, slots=True)
class ParsedMoney:
    """An amount read from text: Decimal quantized to cents, ISO currency if printed, and ambiguity."""

    amount: Decimal
    currency: str | None
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date read from text; `ambiguous` when day and month could be swapped and no locale decided it."""

    value: date
    ambiguous: bool


def find_currency(text: str) -> str | None:
    """Return the ISO currency a symbol or code in `text` names (€, £, $, RM, INR, zł ...), else None."""
    upper = text.upper()
    for symbol, code in CURRENCY_SYMBOLS:
        if symbol.isalpha():
            if re.search(rf"(?<![A-Z]){re.escape(symbol)}(?![A-Z])", upper):
                return code
        elif symbol in upper:
            return code
    return None


_RULE_CENTS = re.compile(r"(?<=\d)(?:[ ]*[:/'’!;¢][ ]*|-|[ ][!lIiH1;][ ])(?=\d{2}(?![\d.,]))")
"""The rule between a form's dollars and cents columns read as a character between the amount's dollars and its
two cents digits: `150/22`, `528:55`, `108 i 44`, and glued as a mark no amount holds: `212!45`, `149;39`,
`452¢71`, `267-76` (a hyphen only glued: `100 - 20` is no amount). The CMS-1500 money patterns accept these; the
cents were dropped here before: `528:55` gave 528.00."""


def parse_money(raw: str, *, decimal_comma: bool | None = None) -> ParsedMoney:
    """Parse an amount like `1,234.56`, `1.234,56`, `RM 9.00`, `396 | 90`, `528:55`; raise ValueError if none."""
    currency = find_currency(raw)
    if not re.search(r"\d", raw) and has_capital_amount(raw):
        # 壹万贰仟叁佰肆拾伍元陆角整: the amount in Chinese capital numerals (大写)
        return ParsedMoney(parse_capital_amount(raw), currency, False)
    text = raw.replace("|", " ").replace("O", "0") if re.search(r"\d", raw) else raw
    text = _RULE_CENTS.sub(" ", text)  # a form's dollars | cents rule read as a character: `150/22`, `528:55`
    match = _AMOUNT_RE.search(text)
    if match is None:
        raise ValueError(f"no amount in {raw!r}")
    token = match.group(0).strip()
    negative = token.startswith(("-", "("))
    token = token.lstrip("-(").strip()
    amount, ambiguous = _to_decimal(token, decimal_comma)
    if negative:
        amount = -amount
    return ParsedMoney(amount.quantize(CENT, rounding=ROUND_HALF_UP), currency, ambiguous)


def _to_decimal(token: str, decimal_comma: bool | None) -> tuple[Decimal, bool]:
    """Turn the digits-and-separators token into a Decimal, guessing the decimal mark."""
    token = token.replace("'", "")
    # "396 90" (cents in their own cell) reads as 396.90; "1 234,56" keeps the space as thousands.
    parts = token.split()
    if len(parts) == 2 and len(parts[1]) == 2 and parts[1].isdigit() and not re.search(r"[.,]", parts[0]):
        token = parts[0] + "." + parts[1]
    token = token.replace(" ", "")
    token = token.rstrip(".,")
    ambiguous = False
    last_dot, last_comma = token.rfind("."), token.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        decimals = len(token) - max(last_dot, last_comma) - 1
        groups = token.split(mark)
        if token.count(mark) > 1 and all(len(g) == 3 for g in groups[1:-1]) and len(groups[-1]) in (1, 2):
            # "18.322.00": thousands groups, then cents; one of the marks is misread (`,` read `.`), which one
            # the text cannot say for sure: the cents are cents, but flag it
            decimal_mark, ambiguous = mark, True
            token = mark.join(groups[:-1]).replace(mark, "") + mark + groups[-1]
        elif token.count(mark) > 1:
            decimal_mark = "," if mark == "." else "."  # "1.234.567": the mark is a thousands separator
            ambiguous = any(len(g) != 3 for g in groups[1:])  # "18.3220.0": no grouping fits it
        elif decimals == 3:
            # "1.234" or "1,234": thousands or three decimals; the locale decides, else flag it.
            if decimal_comma is None:
                ambiguous = True
                decimal_mark = "," if mark == "." else "."
            else:
                decimal_mark = "," if decimal_comma else "."
        else:
            decimal_mark = mark
    else:
        decimal_mark = "."
    thousands = "," if decimal_mark == "." else "."
    cleaned = token.replace(thousands, "").replace(decimal_mark, ".")
    try:
        return Decimal(cleaned), ambiguous
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {token!r}") from exc


_CJK_DATE = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})(?!\d)")
_SPACED_DATE = re.compile(r"(?<!\d)(\d{2})\s+(\d{2})\s+(\d{2}|\d{4})(?!\d)")
_NAMED_DATE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*([A-Za-zéèûłśź]{3,12})\.?[\s\-/.,]*(\d{2,4})(?!\d)")
_NAMED_DATE_US = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)")


def parse_date(raw: str, *, day_first: bool | None = None, month_first_spaced: bool = False) -> ParsedDate:
    """Parse `06/03/2018`, `25-12-18`, `2018-03-06`, `15 JUN 2018`, `June 15, 2018`; raise ValueError if none.

    `day_first` None means no locale: a date that reads both ways is returned day-first and marked
    ambiguous. `month_first_spaced` reads `10 16 66` as MM DD YY (US forms such as CMS-1500).
    """
    raw = raw.replace("|", " ").replace("_", " ")  # a rule or a speck of the baseline read between its parts
    cjk = _CJK_DATE.search(raw)
    if cjk is not None:  # 2026年3月5日: year, month, day by the characters, never ambiguous
        return ParsedDate(date(int(cjk.group(1)), int(cjk.group(2)), int(cjk.group(3))), False)
    for pattern in (_NAMED_DATE, _NAMED_DATE_US):
        for match in pattern.finditer(raw):
            parsed = _named(match, us=pattern is _NAMED_DATE_US)
            if parsed is not None:
                return ParsedDate(parsed, False)
    numeric = _NUMERIC_DATE.search(raw)
    if numeric is not None:
        return _numeric(numeric.group(1), numeric.group(2), numeric.group(3), day_first)
    spaced = _SPACED_DATE.search(raw) if month_first_spaced else None
    if spaced is not None:
        return _numeric(spaced.group(1), spaced.group(2), spaced.group(3), False)
    raise ValueError(f"no date in {raw!r}")


GLUED_O = re.compile(r"(?<![\dA-Za-z])[oO](?=\d\d(?!\d))")
"""A letter O before a boxed date's part that has its two digits already: a caption's letter or a rule's remnant
glued to it (`O06`: the caption DD under the 06; `O0&`: a dashed rule's end), not a third digit."""


def parse_boxed_date(raw: str, *, trailing: bool = False) -> ParsedDate | None:
    """Read a month-first date printed in boxes (`MM | DD | YY`) whose box rules OCR read as characters.

    The dashed rules between the boxes come back as `1`, `|` or `(`, alone (`01 1 17`) or glued to a part
    (`118` for `| 18`, `021` for `02 |`). Every part of such a date has two digits (the year two or four),
    so lone digits are rules and a three-digit part loses a `1` at one end. Month and day printed without
    a gap (`0122 26`) are split, and so are a day and a four-digit year whose rule was cleaned away (`11 031972`).
    None when no reading gives a calendar date; ambiguous when two readings
    give different dates (`131`: 13 or 31 where both exist). `trailing`: two digits may follow the date in its run
    (a service line's place of service glued to the year, `09 07 2611`), so a last run of four digits that is no
    year of YEARS is the two-digit year and those (never the year 2611).
    """
    # a letter O glued before a part that has its two digits already is no third digit (GLUED_O); else the boxes
    # hold digits only: a letter O beside a digit is a zero read as a letter (`o9` for `09`)
    raw = GLUED_O.sub("", raw)
    raw = re.sub(r"(?<=\d)[oO]|[oO](?=\d)", "0", raw)
    tokens = [t for t in re.findall(r"\d+", raw) if len(t) > 1]
    options: list[list[list[str]]] = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        choices: list[list[str]] = []
        if len(token) == 2 or (last and len(token) == 4 and not (trailing and token[:2] not in YEARS)):
            choices.append([token])
        if trailing and last and len(token) == 4 and token[:2] not in YEARS:
            choices.append([token[:2]])
        if len(token) == 4 and not last:
            choices.append([token[:2], token[2:]])
        if len(token) in (3, 5):
            choices += [[token[1:]]] if token[0] == "1" else []
            choices += [[token[:-1]]] if token[-1] == "1" else []
        if len(token) == 6 and last:  # MMDDYY in one word, or DD glued to YYYY when the rule between was dropped
            choices.append([token[:2], token[2:4], token[4:]])
            choices.append([token[:2], token[2:]])
        if len(token) == 7 and last and token[2] == "1":  # DD, the rule read as `1`, YYYY (`0311972`)
            choices.append([token[:2], token[3:]])
        if len(token) == 8 and last:  # MMDDYYYY in one word
            choices.append([token[:2], token[2:4], token[4:]])
        if not choices:
            return None
        options.append(choices)
    found: set[date] = set()
    for combination in itertools.product(*options):
        parts = [part for choice in combination for part in choice]
        if len(parts) != 3 or len(parts[2]) not in (2, 4):
            continue
        try:
            found.add(date(_year(parts[2]), int(parts[0]), int(parts[1])))
        except ValueError:
            continue
    if not found:
        return None
    return ParsedDate(min(found), len(found) > 1)


BOX_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "l": "1",
        "I": "1",
        "i": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "G": "6",
    }
)
"""Letters OCR reads for digits in boxes that hold digits only (Courier `0` as `O`, `1` as `l`)."""


def parse_boxed_dates(raw: str, count: int, *, latest: date | None = None) -> tuple[list[date], bool] | None:
    """Read `count` month-first boxed dates in a row (`MM DD YY  MM DD YY`, a service line's from and to).

    The boxes hold digits only, so letters that look like digits are those digits (BOX_DIGIT_LOOKALIKES; a
    reading that needed one is returned as doubtful). Parts are two digits (a year two or four); month and day
    printed without a gap (`1005`) are split; lone digits are rules or a row number; a three-digit part loses a
    `1` at one end, as in `parse_boxed_date`. Whatever follows the dates (a place of service) is ignored. The
    dates must follow each other (from <= to), lie within ROW_SPAN_DAYS of each other, and none may be after
    `latest` (services are not in the future: `02 10 47` is a misread `17`); a four-digit year is one of YEARS. A
    first run no month can be (`20 07 08 26 ...`) may be a mark before the dates (a guess). None when no reading,
    or more than one, fits; else the dates and whether the reading was a guess.
    """
    options, guessed = _boxed_options(raw, count)
    readings: set[tuple[date, ...]] = set()
    for parts in _boxed_readings(options, count):
        if len(parts) == 3 * count:
            dates = _boxed_row(parts, count, latest)
            if dates is not None:
                readings.add(dates)
    if len(readings) != 1:
        return None
    return list(readings.pop()), guessed


PART_NAMES = ("month", "day", "year")


def borrow_boxed_dates(raw: str, count: int, *, latest: date | None = None) -> tuple[list[date], str] | None:
    """Read a row's two boxed dates (`MM DD YY  MM DD YY`) where one part of one date was lost, from the other date.

    A degraded service line's `11 04 26 ack 04 26` (the to date's month read as letters) or `09 09 26 09 09 2` (the
    to date's year cut to one digit) holds five parts: each place the lost part may have held is tried, filled with
    the part of the same kind of the other date (its month, day or year), and kept when the two dates are dates in
    order and none is after `latest`, as `parse_boxed_dates` reads them. Only when exactly one pair of dates comes
    out (`11 04 26 | 04 26`: the to date's day or year lost would make it April, before the from date), and the
    dates within ROW_SPAN_DAYS of each other. A part lost may leave the place of service after the dates read as a
    sixth part (`02 04 26 02 04 2 11`: the five parts before it are tried when the row holds six), and a month read
    as two digits no month can be (`03 24 26 O38 24 26`: 38) was lost too (only its place is tried; a day read
    wrong, `01 32 26 02 01 26`, is no day of the other date). The borrowed part was never read: the caller keeps the
    dates as a guess. Returns the dates and what was borrowed (`date 2's month from date 1`), or None (no part lost,
    more than one, no single reading, or the row reads as it is).
    """
    if count != 2 or parse_boxed_dates(raw, count, latest=latest) is not None:
        return None
    options, _ = _boxed_options(raw, count)
    size = 3 * count
    found: dict[tuple[date, ...], str] = {}
    for parts in _boxed_readings(options, count, limit=size + 1):
        if len(parts) not in (size - 1, size):
            continue
        tries = [(parts[: size - 1], range(size))]
        impossible = [i for i, part in enumerate(parts) if i % 3 == 0 and len(part) == 2 and not _possible_month(part)]
        if len(parts) == size and len(impossible) == 1:
            lost = impossible[0]
            tries.append(([*parts[:lost], *parts[lost + 1 :]], range(lost, lost + 1)))
        for kept, places in tries:
            for lost in places:
                other = 3 * (1 - lost // 3) + lost % 3  # the same part of the other date
                filled = [*kept[:lost], "", *kept[lost:]]
                filled[lost] = filled[other]
                dates = _boxed_row(filled, count, latest)
                if dates is not None:
                    found.setdefault(
                        dates, f"date {lost // 3 + 1}'s {PART_NAMES[lost % 3]} from date {other // 3 + 1}"
                    )
    if len(found) != 1:
        return None
    dates, what = found.popitem()
    return list(dates), what


def _possible_month(part: str) -> bool:
    """Return whether a part read for a boxed date's month may be one (two digits 01-12)."""
    return len(part) == 2 and 1 <= int(part) <= 12


def _boxed_options(raw: str, count: int) -> tuple[list[list[list[str]]], bool]:
    """Return the ways each digit run of a row of boxed dates may be cut into parts, and whether it needed a guess.

    The guess: a letter read as a digit, a rule read as a digit before the first part (see `parse_boxed_dates`).
    """
    # (cms14) Courier's 8 read `&`, and a rule's remnant O glued to a part (GLUED_O), as in `parse_boxed_date`
    # (`O0& 01 26` for `08 01 26`, `05 O01 26` for `05 01 26`)
    mapped = GLUED_O.sub("", raw.replace("&", "8"))
    mapped = re.sub(r"[A-Za-z]+", lambda m: m.group(0).translate(BOX_DIGIT_LOOKALIKES), mapped)
    guessed = mapped != raw
    tokens = [t for t in re.findall(r"\d+", mapped) if len(t) > 1][: 3 * count]
    options: list[list[list[str]]] = []
    for index, token in enumerate(tokens):
        choices: list[list[str]] = []
        if len(token) in (2, 4):
            choices.append([token])
        if len(token) == 4:
            choices.append([token[:2], token[2:]])
        if len(token) in (3, 5):
            choices += [[token[1:]]] if token[0] == "1" else []
            choices += [[token[:-1]]] if token[-1] == "1" else []
        if index == 0 and len(token) == 3 and token[0] not in "01":
            # no month has three digits nor starts with 2-9 then two digits: the row's left rule or bracket read as
            # a digit glued before it (`905 11 26` for `|05 11 26`)
            choices.append([token[1:]])
            guessed = True
        no_month = (len(token) == 2 and not _possible_month(token)) or (len(token) == 3 and token[0] not in "01")
        if index == 0 and no_month:
            # a first run no month can be may be a mark before the row's dates, no part of them (`20 07 08 26 0708 26`,
            # `310 07 10 26 0710 26`: the row's margin read as digits); only a reading without it that fits is taken
            choices.append([])
            guessed = True
        if len(token) == 6:
            choices.append([token[:2], token[2:4], token[4:]])
        options.append(choices or [[]])
    return options, guessed


def _boxed_readings(options: list[list[list[str]]], count: int, *, limit: int | None = None) -> Iterator[list[str]]:
    """Yield each way of cutting a row's runs into parts (at most `limit` parts, `3 * count` unless given)."""
    for combination in itertools.product(*options):
        yield [part for choice in combination for part in choice][: limit or 3 * count]


def _boxed_row(parts: list[str], count: int, latest: date | None) -> tuple[date, ...] | None:
    """Return `count` dates of three parts each, when each is a date, they are in order and none is after `latest`."""
    dates = []
    for index in range(count):
        month, day, year = parts[3 * index : 3 * index + 3]
        if len(month) != 2 or len(day) != 2 or len(year) not in (2, 4) or (len(year) == 4 and year[:2] not in YEARS):
            return None
        try:
            dates.append(date(_year(year), int(month), int(day)))
        except ValueError:
            return None
    if not all(a <= b for a, b in itertools.pairwise(dates)) or (latest is not None and dates[-1] > latest):
        return None
    if (dates[-1] - dates[0]).days > ROW_SPAN_DAYS:
        return None
    return tuple(dates)


YEARS = ("19", "20")
"""The centuries a four-digit year of a boxed date may have (`0205` is a month and day, not the year 205)."""
ROW_SPAN_DAYS = 366
"""A row's dates (a service line's from and to) lie within about a year of each other, as a table's do
(extract_tables.DATE_SPAN_DAYS): `07 17 07 18 26` is not 2017-07-07 to 2026-07-18."""


def _named(match: re.Match[str], *, us: bool) -> date | None:
    """Build a date from a match with a month name, or None if the word is not a month."""
    day_text, month_text, year_text = (match.group(2), match.group(1), match.group(3)) if us else match.groups()
    month = MONTHS.get(month_text.lower())
    if month is None:
        return None
    try:
        return date(_year(year_text), month, int(day_text))
    except ValueError:
        return None


def _numeric(first: str, second: str, third: str, day_first: bool | None) -> ParsedDate:
    """Build a date from three numeric parts, deciding their order."""
    if len(first) == 4:
        return ParsedDate(date(int(first), int(second), int(third)), False)
    a, b, year = int(first), int(second), _year(third)
    if day_first is None:
        if a > 12 >= b:
            return ParsedDate(date(year, b, a), False)
        if b > 12 >= a:
            return ParsedDate(date(year, a, b), False)
        return ParsedDate(date(year, b, a), a != b)
    if day_first:
        try:
            return ParsedDate(date(year, b, a), False)
        except ValueError:
            return ParsedDate(date(year, a, b), True)
    try:
        return ParsedDate(date(year, a, b), False)
    except ValueError:
        return ParsedDate(date(year, b, a), True)


def _year(text: str) -> int:
    """Expand a two-digit year with a 1950 pivot (66 -> 1966 for birth dates, 17 -> 2017)."""
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= 50 else 2000
    return year


def parse_iban(raw: str) -> str:
    """Return the IBAN without spaces, upper-cased, if its checks pass; else raise ValueError saying which failed."""
    iban = re.sub(r"[\s\-]", "", raw).upper()
    if not _IBAN_RE.match(iban):
        raise ValueError("not shaped like an IBAN")
    failure = iban_check_failure(iban)
    if failure is not None:
        raise ValueError(failure)
    return iban


def is_valid_iban(iban: str) -> bool:
    """Return True when the IBAN's mod-97 checksum is 1 and its country's own check key, where known, matches."""
    return iban_check_failure(iban) is None


def iban_check_failure(iban: str) -> str | None:
    """Return which check `iban` fails, or None when it passes them all.

    Every IBAN carries mod-97 check digits. Some countries' account numbers carry a check key of their own
    (`NATIONAL_CHECKS`), which every real account number of that country passes; it is a second, independent check:
    a misread that passes mod-97 by chance (about 1 in 97) fails it too, with the same odds again, and it tells the
    letters of a French or Italian account number from the digits OCR confuses them with (S/5, G/6), which mod-97
    cannot always do.
    """
    compact = re.sub(r"\s", "", iban).upper()
    if not _IBAN_RE.match(compact):
        return "not shaped like an IBAN"
    if _mod97(compact) != 1:
        return "IBAN check digits do not match (mod-97)"
    national = NATIONAL_CHECKS.get(compact[:2])
    if national is not None and len(compact) == IBAN_LENGTHS.get(compact[:2]) and not national[1](compact[4:]):
        return f"IBAN passes mod-97 but not its {national[0]}"
    return None


def _mod97(compact: str) -> int:
    """Return the IBAN's mod-97 remainder: from its fifth character round to its fourth, letters as 10-35."""
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97


_RIB_LETTERS = "12345678912345678923456789"
"""The digit each letter A-Z stands for in a French RIB key (A-I 1-9, J-R 1-9, S-Z 2-9)."""
_CIN_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)
"""What a character of value 0-25 (digits 0-9, letters A-Z as 0-25) counts for at an odd position of an Italian CIN."""


def fix_iban_country(compact: str) -> str | None:
    """Return `compact` with a country code OCR read with a digit (`1T28...`) put back in letters, if that is sure.

    Only a digit with one letter OCR takes it for (1 I, 0 O, 5 S, 8 B, 2 Z, 6 G) is changed, and only when the
    result is a country with IBANs; otherwise None.
    """
    head = compact[:2]
    if head.isalpha() or not re.fullmatch(r"[A-Z0-9]{2}", head):
        return None
    fixed = "".join(_TO_LETTER.get(char, char) for char in head)
    return fixed + compact[2:] if fixed.isalpha() and fixed in IBAN_LENGTHS else None


def _rib_key_ok(bban: str) -> bool:
    """Return True when a French (or Monaco) BBAN ends in its RIB key.

    Bank, branch, account and key read as one number (letters as their RIB digits) are a multiple of 97.
    """
    if not re.fullmatch(r"\d{10}[A-Z0-9]{11}\d{2}", bban):
        return False
    return int("".join(ch if ch.isdigit() else _RIB_LETTERS[ord(ch) - 65] for ch in bban)) % 97 == 0


def _cin_ok(bban: str) -> bool:
    """Return True when an Italian (or San Marino) BBAN starts with its CIN letter, computed from the 22 after it."""
    if not re.fullmatch(r"[A-Z]\d{10}[A-Z0-9]{12}", bban):
        return False
    values = [int(ch) if ch.isdigit() else ord(ch) - 65 for ch in bban[1:]]
    total = sum(_CIN_ODD[value] if index % 2 == 0 else value for index, value in enumerate(values))
    return bban[0] == chr(65 + total % 26)


def _belgian_ok(bban: str) -> bool:
    """Return True when a Belgian BBAN's last two digits are its first ten modulo 97 (97 for 0)."""
    return bban.isdigit() and (int(bban[:10]) % 97 or 97) == int(bban[10:])


NATIONAL_CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "FR": ("RIB key (the last two digits)", _rib_key_ok),
    "MC": ("RIB key (the last two digits)", _rib_key_ok),
    "IT": ("CIN check letter (the first letter after the check digits)", _cin_ok),
    "SM": ("CIN check letter (the first letter after the check digits)", _cin_ok),
    "BE": ("account check digits (the last two)", _belgian_ok),
}
"""Countries whose account numbers carry their own check key, checked with mod-97 (see `iban_check_failure`)."""


_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
# What OCR reads a character as, and back: O/0, I/1/L, S/5, B/8, G/6, Z/2, D/0, Q/0 (an I read as L both ways: a
# degraded scan's `AQULJ` for AQUIJ failed mod-97 and no correction was tried, so the misread IBAN was kept)
_CONFUSABLE = {
    "O": "0",
    "0": "ODQ",
    "D": "0",
    "Q": "0",
    "I": "1L",
    "1": "IL",
    "L": "1I",
    "S": "5",
    "5": "S",
    "B": "8",
    "8": "B",
    "G": "6",
    "6": "G",
    "Z": "2",
    "2": "Z",
}
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TWIN_CHANGES = 2
"""A read IBAN's twins are the readings passing its checks that differ from it in at most this many confusable
characters: OCR that read a field at high confidence confuses one or two characters, not five at once (the
published IT60 X054 2811 1010 0000 0123 456 has 31 twins when its zeros may all be O, D or Q, and none within two)."""
MAX_REPAIR_CHANGES = 3
"""An OCR'd IBAN is repaired only by a candidate changing at most this many confusable characters."""
MAX_IBAN_CANDIDATES = 4096
"""The checksum search of an OCR'd IBAN checks at most this many readings passing mod-97, else it gives up."""
# Full IBAN length per country, from the IBAN registry
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
# BBAN layouts (n digits, a letters, c either) of common countries, from the IBAN registry
BBAN_LAYOUTS = {
    "AT": "16n",
    "BE": "12n",
    "CH": "5n12c",
    "DE": "18n",
    "DK": "14n",
    "ES": "20n",
    "FI": "14n",
    "FR": "10n11c2n",
    "GB": "4a14n",
    "IE": "4a14n",
    "IT": "1a10n12c",
    "LU": "3n13c",
    "MC": "10n11c2n",
    "NL": "4a10n",
    "NO": "11n",
    "PL": "24n",
    "PT": "21n",
    "SE": "20n",
    "SM": "1a10n12c",
}


@dataclass(frozen=True, slots=True)
class IbanSearch:
    """What the checksum search of an OCR'd IBAN found: the candidates passing its checks, and how many it checked."""

    valid: tuple[str, ...]
    tried: int
    complete: bool
    changes: tuple[int, ...] = ()
    """Per valid candidate: how many confusable characters it changes in the read (forced corrections aside)."""

    @property
    def repaired(self) -> str | None:
        """Return the only passing candidate of a complete search, else None (nothing or too much to choose from).

        A candidate that changes more than MAX_REPAIR_CHANGES characters is no repair: OCR that confuses one or
        two characters of an IBAN is common, four or more at once is rare, while the mixes of that many passing
        mod-97 by chance are not (on generated IT and FR IBANs with one non-confusion misread, the only passing
        candidate was wrong in 4 of 600 reads, changing 3, 4, 3 and 6 characters; right repairs changed 1-3).
        """
        if not self.complete or len(self.valid) != 1:
            return None
        if self.changes and self.changes[0] > MAX_REPAIR_CHANGES:
            return None
        return self.valid[0]


def search_iban_repairs(iban: str, *, limit: int = MAX_IBAN_CANDIDATES, max_changes: int | None = None) -> IbanSearch:
    """Search the OCR misreadings that could have turned a real IBAN into `iban`; keep those passing mod-97.

    With the country's length: every mix of OCR-confusable characters (O/0, I/1, S/5, B/8, G/6, Z/2, D/0,
    Q/0) at positions its layout lets be a letter or a digit, with positions fixed to digits (or letters)
    corrected. One character too many or too few: every single deletion or insertion, with only the fixed
    positions corrected. With `max_changes`, at most that many confusable characters differ from the read (forced
    corrections do not count). The search is incomplete when more than `limit` readings pass mod-97 (each is then
    checked with the country's own key, if any).
    """
    compact = re.sub(r"[\s\-]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{11,32}", compact):
        return IbanSearch((), 0, True)
    expected = IBAN_LENGTHS.get(compact[:2], len(compact))
    variants: list[list[tuple[str, ...]]] = []
    if len(compact) == expected:
        variants.append(_position_options(compact, _iban_kinds(compact[:2], expected), confusable=True) or [])
    elif len(compact) == expected + 1:
        kinds = _iban_kinds(compact[:2], expected)
        deleted = {compact[:index] + compact[index + 1 :] for index in range(2, len(compact))}
        variants.extend(_position_options(text, kinds, confusable=False) or [] for text in sorted(deleted))
    elif len(compact) == expected - 1:
        kinds = _iban_kinds(compact[:2], expected)
        for index in range(2, expected):
            options = _position_options(compact[:index] + "0" + compact[index:], kinds, confusable=False)
            if options is not None:
                options[index] = tuple(ch for ch in _ALPHANUMERIC if _fits(ch, kinds[index]))
                variants.append(options)
    valid: set[str] = set()
    tried = 0
    for options in variants:
        if not options:
            continue
        passing = _mod97_solutions(options, limit - tried, max_changes)
        if passing is None:
            return IbanSearch(tuple(sorted(valid)), tried, False)
        tried += len(passing)
        valid.update(text for text in passing if is_valid_iban(text))
    valid.discard(compact)
    kinds = _iban_kinds(compact[:2], expected)
    found = tuple(sorted(valid))
    changes = tuple(_changes(compact, text, kinds) for text in found)
    return IbanSearch(found, tried, True, changes)


def _changes(read: str, candidate: str, kinds: str) -> int:
    """Return how many characters `candidate` changes in `read` where the read's character may stand.

    1 for an inserted or deleted character: such a search changes nothing else but forced positions.
    """
    if len(read) != len(candidate):
        return 1
    return sum(1 for old, new, kind in zip(read, candidate, kinds, strict=True) if old != new and _fits(old, kind))


def _mod97_solutions(options: list[tuple[str, ...]], limit: int, max_changes: int | None = None) -> list[str] | None:
    """Return every string with one of each position's `options` whose IBAN mod-97 remainder is 1.

    A position's first option is the character read; with `max_changes`, at most that many positions take another.
    None when more than `limit` pass. Not by trying each mix (an account number with eight zeros, each of which
    may be O, D or Q, is 65,536 mixes): the remainder is carried position by position (a letter counts as two
    digits), the mixes are counted by remainder, and only those ending at 1 are spelled out.
    """
    if all(len(position) == 1 for position in options):  # nothing to choose (a layout of digits only): one reading
        text = "".join(position[0] for position in options)
        return [text] if _mod97(text) == 1 else []
    order = options[4:] + options[:4]  # mod-97 reads the IBAN from its fifth character round to its fourth
    steps = [
        [
            (char, 10 ** len(str(int(char, 36))), int(char, 36), int(k > 0 and max_changes is not None))
            for k, char in enumerate(position)
        ]
        for position in order
    ]
    most = max_changes or 0
    # counts[i][(remainder, changes)]: the mixes of positions i.. that end at remainder 1 within the changes allowed
    counts: list[dict[tuple[int, int], int]] = [{} for _ in range(len(steps) + 1)]
    counts[-1] = {(1, used): 1 for used in range(most + 1)}
    for index in range(len(steps) - 1, -1, -1):
        after = counts[index + 1]
        here: dict[tuple[int, int], int] = {}
        for remainder in range(97):
            for used in range(most + 1):
                ways = sum(
                    after.get(((remainder * scale + value) % 97, used + cost), 0)
                    for _, scale, value, cost in steps[index]
                )
                if ways:
                    here[(remainder, used)] = ways
        counts[index] = here
    if counts[0].get((0, 0), 0) > limit:
        return None
    found: list[str] = []

    def spell(index: int, remainder: int, used: int, prefix: str) -> None:
        if index == len(steps):
            found.append(prefix[-4:] + prefix[:-4])
            return
        for char, scale, value, cost in steps[index]:
            following = (remainder * scale + value) % 97
            if counts[index + 1].get((following, used + cost)):
                spell(index + 1, following, used + cost, prefix + char)

    spell(0, 0, 0, "")
    return found


def _iban_kinds(country: str, length: int) -> str:
    """Return the kind of each IBAN position: `a` letter, `n` digit, `c` either (unknown layouts: all `c`)."""
    layout = BBAN_LAYOUTS.get(country)
    bban = "".join(kind * int(count) for count, kind in re.findall(r"(\d+)([nac])", layout or ""))
    if len(bban) != length - 4:
        bban = "c" * (length - 4)
    return "aann" + bban


def _fits(char: str, kind: str) -> bool:
    """Return True when `char` may stand at a position of `kind`."""
    return kind == "c" or (kind == "n") == char.isdigit()


def _position_options(text: str, kinds: str, *, confusable: bool) -> list[tuple[str, ...]] | None:
    """Return the characters each position may really be; None when a fixed position cannot be corrected."""
    options: list[tuple[str, ...]] = []
    for char, kind in zip(text, kinds, strict=True):
        if _fits(char, kind):
            alternatives = _CONFUSABLE.get(char, "") if confusable and kind == "c" else ""
            options.append((char, *alternatives))
            continue
        fixed = _TO_DIGIT.get(char) if kind == "n" else _TO_LETTER.get(char)
        if fixed is None:
            return None
        options.append((fixed,))
    return options


def repair_iban(iban: str) -> str | None:
    """Return the one OCR-confusion repair of `iban` that passes mod-97, else None (see `search_iban_repairs`)."""
    return search_iban_repairs(iban).repaired


def is_valid_luhn(number: str) -> bool:
    """Return True when the digits of `number` pass the Luhn checksum."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def is_valid_gb11643(number: str) -> bool:
    """Return True when `number` is an 18-character Chinese citizen ID whose last character is its GB 11643 check."""
    compact = re.sub(r"\s", "", number).upper()
    if not re.fullmatch(r"\d{17}[\dX]", compact):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(compact[:17], GB11643_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == compact[17]


# OCR misreads inside legal-form words (`SON BHD` for `SDN BHD`) and symbols that are letters misread (`¥` for Y).
_LEGAL_FORM_FIXES = (
    (re.compile(r"\bS[O0]N(?=\.?\s*BHD\b)"), "SDN"),
    (re.compile(r"\bBH0\b"), "BHD"),
    (re.compile(r"\b(S\.\s?r\.\s?)[I1|](?=\.)"), r"\1l"),  # Italian `S.r.l.` read `S.r.I.` / `S.r.1.`
)
_SYMBOL_LETTERS = ((re.compile(r"(?<=Y)¥|¥(?=Y)"), ""), (re.compile(r"¥"), "Y"))


_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def join_cjk(text: str) -> str:
    """Remove the spaces between two CJK characters (tesseract's chi_sim puts one between every character)."""
    return _CJK_GAP.sub("", text)


def has_cjk(text: str) -> bool:
    """Return True when `text` holds a CJK character (ideograph or full-width punctuation)."""
    return re.search(rf"[{_CJK}]", text) is not None


def normalise_text(raw: str) -> str:
    """Collapse whitespace, strip separator punctuation at the ends and undo common OCR misreads of legal forms.

    Spaces between CJK characters are removed (OCR puts them there; Chinese is written without them).
    """
    text = join_cjk(re.sub(r"\s+", " ", raw)).strip(" :;,|_-–—\t'‘’\"“”：；，")
    for pattern, replacement in (*_LEGAL_FORM_FIXES, *_SYMBOL_LETTERS):
        text = pattern.sub(replacement, text)
    return text


CASE_LOOKALIKES = frozenset("cosvwxz")
"""Letters whose small form is the capital's shape made smaller: OCR mixes up their case (`25Qx` for `25QX`)."""
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_INITIALS = re.compile(r"(?<![A-Za-z0-9.])(?:[A-Za-z]\.){2,}")
"""Single letters each followed by a point: a legal form's initials (`B.V.`, `N.V.`, `S.A.`, `e.K.`)."""


def upper_case_lookalikes(text: str) -> str:
    """Upper-case c o s v w x z in a token otherwise of capitals and digits, with both (`BS2 25Qx` -> `BS2 25QX`).

    Any one small letter between a digit and a capital there is a capital too (`LS1 4aB` -> `LS1 4AB`). Initials
    with a capital (`B.v.` -> `B.V.`: a Dutch seller's legal form) whose small letters are all of those are
    capitals too; `e.K.` and `S.r.l.` keep their small letters (their shapes differ from the capitals').

    For OCR text only: a postcode, a plate or a reference number is written in capitals, and where the model
    reads one of these letters small inside it, the glyph alone cannot say which case was printed. Tokens
    with any other small letter (`Mill`, `3kg`) or without a capital and a digit (`2x`, `Box`) are kept.
    """

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        small = [ch for ch in token if ch.islower()]
        if (
            small
            and (all(ch in CASE_LOOKALIKES for ch in small) or _one_small_inside(token))
            and re.search(r"[A-Z]", token)
            and re.search(r"\d", token)
        ):
            return token.upper()
        return token

    def initials(match: re.Match[str]) -> str:
        letters = match.group(0)
        small = [ch for ch in letters if ch.islower()]
        if small and all(ch in CASE_LOOKALIKES for ch in small) and re.search(r"[A-Z]", letters):
            return letters.upper()
        return letters

    return _INITIALS.sub(initials, _TOKEN.sub(fix, text))


_DOLLAR_TOKEN = re.compile(r"[A-Za-z0-9]*\$[A-Za-z0-9$]*")


def dollar_lookalikes(text: str) -> str:
    """Return `text` with each `$` inside a word of figures read 5 and inside a word of capitals read S.

    For OCR text that never holds an amount (a spec's `no_amounts`: an address): a degraded scan's 5 or S may be
    read `$` (`$0100 KUALA LUMPUR` for the postcode 50100, `JALAN S$ 2/23` for SS 2/23). A `$` standing alone, or in a
    word of letters and figures (`B$2`: S or 5?) or with small letters, is kept: the glyph alone cannot say which.
    """

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        rest = token.replace("$", "")
        if rest.isdigit():
            return token.replace("$", "5")
        if rest.isalpha() and rest.isupper():
            return token.replace("$", "S")
        return token

    return _DOLLAR_TOKEN.sub(fix, text)


def _one_small_inside(token: str) -> bool:
    """Return True when one small letter stands between a digit and a capital (`4aB`: a postcode's inward code).

    A capital read small inside a code of capitals and digits, whatever its shape, once: a house number's own small
    letter (`12a`) has no capital after it, and a word (`GmbH`) no digit.
    """
    found = re.fullmatch(r"[A-Z\d]*(?:\d[a-z][A-Z]|[A-Z][a-z]\d)[A-Z\d]*", token)
    return found is not None


def normalise_code(raw: str) -> str:
    """Return an identifier without inner spaces, upper-cased (policy numbers, ICD codes).

    A `=` between digits is a hyphen OCR read doubled (`85=8695478`, a tax id on a degraded scan).
    """
    code = re.sub(r"(?<=\d)=(?=\d)", "-", raw)
    return re.sub(r"\s+", "", code).strip(" :;,|()[]").upper()


def normalise_currency(raw: str) -> str:
    """Return the ISO code for a currency code or symbol; raise ValueError if unknown."""
    code = raw.strip().upper()
    if code == "RMB":  # renminbi: common on Chinese forms, not the ISO code
        return "CNY"
    if re.fullmatch(r"[A-Z]{3}", code):
        return code
    found = find_currency(raw)
    if found is None:
        raise ValueError(f"not a currency: {raw!r}")
    return found
