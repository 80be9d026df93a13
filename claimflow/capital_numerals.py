"""Chinese capital numerals (大写金额): the amount in words printed on cheques, invoices and claim forms.

`parse_capital_amount("人民币壹万贰仟叁佰肆拾伍元陆角整")` returns `Decimal("12345.60")`. The writing follows the
People's Bank of China rules: digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 inside a section, sections 万 and 亿,
then 元 (or 圆), 角 and 分; 整 (or 正) closes an amount without 分; 零 stands for one or more zero places
(壹万零伍元 = 10005, 壹仟零伍拾元 = 1050, 壹万贰仟元零伍分 = 12000.05). The parser is strict on purpose:
an OCR misreading that breaks the structure (a unit twice, two digits in a row, 角 after 分) raises
`ValueError` instead of becoming a different number, so the figures and the words can only agree when both
were read right. Everyday digits (一二三 ... 十百千, 〇, 两) are accepted too, since forms mix them.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
    "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "貳": 2, "參": 3, "参": 3, "陸": 6,
}  # fmt: skip
UNITS: dict[str, int] = {"拾": 10, "佰": 100, "仟": 1000, "十": 10, "百": 100, "千": 1000}
SECTIONS: dict[str, int] = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
YUAN = frozenset("元圆園")
CLOSERS = frozenset("整正")
PREFIXES = (
    *("人民币", "人民幣", "RMB", "CNY", "大写", "大寫", "金额"),
    *("：", ":", ";", "；", "(", ")", "（", "）", "¥", "￥"),
)
"""What may precede the amount at its label (OCR reads the label's colon as `;` now and then)."""
CAPITAL_CHARS = "".join([*DIGITS, *UNITS, *SECTIONS, *YUAN, *CLOSERS, "角", "分"])
"""Every character a capital amount is written with (for patterns that find one in a line)."""


def has_capital_amount(text: str) -> bool:
    """Return True when `text` holds a run of capital-numeral characters ending in 元, 角 or 分."""
    return re.search(rf"[{CAPITAL_CHARS}]+[元圆園角分]", re.sub(r"\s+", "", text)) is not None


def parse_capital_amount(raw: str) -> Decimal:
    """Return the amount written in Chinese capital numerals in `raw`; raise ValueError when it is not one.

    Spaces (tesseract puts them between CJK characters) and a leading 人民币 / (大写) / ¥ are ignored.
    """
    text = _bare(raw)
    if text and text[-1] in CLOSERS:
        text = text[:-1]
        closed = True
    else:
        closed = False
    if not text:
        raise ValueError("no capital amount")
    bad = sorted({ch for ch in text if ch not in CAPITAL_CHARS})
    if bad:
        raise ValueError(f"not a capital numeral: {''.join(bad)!r}")
    yuan_at = [index for index, ch in enumerate(text) if ch in YUAN]
    if len(yuan_at) > 1:
        raise ValueError("元 written twice")
    if yuan_at:
        whole_text, fraction_text = text[: yuan_at[0]], text[yuan_at[0] + 1 :]
        whole = _whole(whole_text) if whole_text else 0
    else:
        if "角" not in text and "分" not in text:
            raise ValueError("no 元, 角 or 分: not an amount")
        whole, fraction_text = 0, text
    cents = _fraction(fraction_text)
    if closed and cents % 10:
        raise ValueError("整 after 分")
    if whole == 0 and cents == 0 and not whole_text_is_zero(text):
        raise ValueError("empty amount")
    return (Decimal(whole * 100 + cents) / 100).quantize(Decimal("0.01"))


def _bare(raw: str) -> str:
    """Return the amount text without spaces, a leading 人民币 / (大写) / ¥ and a closing full stop."""
    text = re.sub(r"\s+", "", raw)
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if text.startswith(prefix):
                text, changed = text[len(prefix) :], True
    return text.rstrip("。.,，")


CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
MAX_UNREAD = 4
"""At most this many unreadable characters are tried with every filling (more: only laid over the writing)."""


def unread_fits(raw: str, amount: Decimal) -> int | None:
    """Return how many characters of a partly misread capital amount are unreadable, if it can say `amount`.

    `人民币肆万零壹佰下拾肆元抽角制分` (下, 抽, 制 are not capital numerals) fits 40124.88: each unreadable
    character is tried as each digit `amount` has, 零, a unit 拾佰仟, or nothing (a digit `amount` does not have
    cannot make it), and the strict parser decides. When more than MAX_UNREAD or a third of them are
    unreadable, or no filling gives `amount`, `amount`'s own writing is laid over the text instead (same
    length, every read character in its place, at least half read: `_unread_in_place`). Returns None when
    every character was read (then the strict parser alone decides) or when nothing fits. A character read
    as another numeral is not unreadable: the figures and the words then disagree.
    """
    text = _bare(raw)
    unread = [index for index, ch in enumerate(text) if ch not in CAPITAL_CHARS]
    if not unread:
        return None
    if len(unread) > MAX_UNREAD or 3 * len(unread) > len(text):
        return _unread_in_place(text, amount)
    digits = {CAPITAL_DIGITS[int(ch)] for ch in f"{amount:.2f}" if ch.isdigit()}
    wildcards = ["", *sorted(digits | {"零"}), "拾", "佰", "仟"]
    for filling in itertools.product(wildcards, repeat=len(unread)):
        chars = list(text)
        for index, ch in zip(unread, filling, strict=True):
            chars[index] = ch
        try:
            if parse_capital_amount("".join(chars)) == amount:
                return len(unread)
        except ValueError:
            continue
    return _unread_in_place(text, amount)


def read_share(raw: str) -> float:
    """Return the share of a capital amount's characters (after 人民币 and the like) that are capital numerals."""
    text = _bare(raw)
    return sum(ch in CAPITAL_CHARS for ch in text) / len(text) if text else 0.0


def _unread_in_place(text: str, amount: Decimal) -> int | None:
    """Return how many characters are unreadable when `text` is `amount`'s writing with only those misread.

    chi_sim misreads several capital numerals of one amount at once (`过万制什参佰贰拾下元整` for
    壹万捌仟叁佰贰拾贰元整: 过 制 什 下 are no numerals): too many to try every filling, but the amount's
    own writing (`write_capital_amount`, and its usual variants) can be laid over the text character by
    character. It fits when the lengths agree, every character that was read is the one written at its place
    (same digit, unit, section, 元 or 整) and at least half of them were read.
    """
    unread = sum(ch not in CAPITAL_CHARS for ch in text)
    if 2 * unread > len(text):
        return None
    for written in capital_writings(amount):
        if len(written) == len(text) and all(
            ch not in CAPITAL_CHARS or _same_character(ch, other) for ch, other in zip(text, written, strict=True)
        ):
            return unread
    return None


def _same_character(read: str, written: str) -> bool:
    """Return True when a read character stands for the written one (参 for 叁, 圆 for 元, 正 for 整)."""
    if read == written:
        return True
    for table in (DIGITS, UNITS, SECTIONS):
        if read in table and written in table:
            return table[read] == table[written]
    return (read in YUAN and written in YUAN) or (read in CLOSERS and written in CLOSERS)


def write_capital_amount(amount: Decimal) -> str:
    """Return `amount` (>= 0, below 10^12) written in capital numerals by the PBOC rules, without 人民币.

    壹万零伍元整, 壹仟零伍拾元伍角, 壹万贰仟元零伍分: one 零 per run of zero places (and after 万/亿 when
    the next section has no thousands), trailing zero places not written, 整 after an amount without 分.
    """
    cents = int((amount * 100).to_integral_value())
    if cents < 0 or cents >= 10**14:
        raise ValueError(f"no capital writing for {amount}")
    whole, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _write_whole(whole) + "元" if whole else ""
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += CAPITAL_DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    return text + (CAPITAL_DIGITS[fen] + "分" if fen else "整")


def capital_writings(amount: Decimal) -> list[str]:
    """Return the ways forms write `amount`: the PBOC writing, without a closing 整 after 角, 拾 for 壹拾."""
    written = write_capital_amount(amount)
    writings = [written]
    if written.endswith("角整"):
        writings.append(written[:-1])
    writings.extend(w[1:] for w in list(writings) if w.startswith("壹拾"))
    return writings


def _write_whole(number: int) -> str:
    """Return a positive integer in sections of 仟佰拾 closed by 万 and 亿, with the zero places marked."""
    sections: list[int] = []
    while number:
        sections.append(number % 10_000)
        number //= 10_000
    text = ""
    pending_zero = False
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or section < 1000):
            text += "零"
        text += _write_section(section) + ("", "万", "亿")[index]
        pending_zero = False
    return text


def _write_section(number: int) -> str:
    """Return 1..9999 with 仟佰拾 and one 零 per inner run of zero places (壹仟零伍拾)."""
    text = ""
    zero = False
    for unit, name in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = number // unit % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += CAPITAL_DIGITS[digit] + name
    return text


def whole_text_is_zero(text: str) -> bool:
    """Return True when the amount text says zero outright (零元整)."""
    return text.startswith(("零元", "零圆", "〇元"))


def _whole(text: str) -> int:
    """Return the integer written before 元; raise ValueError on a malformed sequence."""
    if text in ("零", "〇"):
        return 0
    total = 0
    tail = text
    for marker, size in (("亿", 100_000_000), ("万", 10_000)):
        alias = "億" if marker == "亿" else "萬"
        tail = tail.replace(alias, marker)
        if marker in tail:
            head, _, tail = tail.partition(marker)
            if marker in tail:
                raise ValueError(f"{marker} written twice")
            value = _whole(head.lstrip("零")) if head.strip("零") else 0
            if value == 0 and marker == "亿":
                raise ValueError("亿 without a number")
            if value == 0 and marker == "万" and total == 0:
                raise ValueError("万 without a number")
            total += value * size
            if tail.startswith("零"):
                tail = tail[1:]
                if not tail:
                    raise ValueError("零 at the end of the whole part")
            elif tail and not _starts_with_thousands(tail):
                # 壹万伍拾 would hide a zero: 10050 is written 壹万零伍拾
                raise ValueError("a zero place after 万/亿 needs 零")
    return total + _section(tail)


def _starts_with_thousands(text: str) -> bool:
    """Return True when a section text starts with a digit followed by 仟 (no zero is skipped)."""
    return len(text) >= 2 and text[0] in DIGITS and text[1] in ("仟", "千")


def _section(text: str) -> int:
    """Return the value (0..9999) of a section written with 仟佰拾 and 零; raise ValueError when malformed."""
    value = 0
    digit: int | None = None
    last_unit = 10_000
    after_zero = False
    index = 0
    while index < len(text):
        ch = text[index]
        if ch in DIGITS:
            number = DIGITS[ch]
            if digit is not None:
                raise ValueError("two digits in a row")
            if number == 0:
                if after_zero or index == 0 or index == len(text) - 1:
                    raise ValueError("misplaced 零")
                after_zero = True
            else:
                digit = number
        elif ch in UNITS:
            unit = UNITS[ch]
            if unit >= last_unit:
                raise ValueError(f"{ch} out of order")
            if digit is None:
                if unit == 10 and index == 0:
                    digit = 1  # 拾伍元 = 15
                else:
                    raise ValueError(f"{ch} without a digit")
            if after_zero and unit * 10 == last_unit:
                raise ValueError("零 between adjacent places")
            value += digit * unit
            last_unit = unit
            digit = None
            after_zero = False
        else:
            raise ValueError(f"{ch!r} inside a number")
        index += 1
    if digit is not None:
        if after_zero and last_unit == 10:
            raise ValueError("零 between adjacent places")
        if not after_zero and last_unit > 10 and last_unit != 10_000:
            # 壹佰伍 is colloquial for 150; on a form it must be 壹佰伍拾
            raise ValueError("a digit without its unit")
        value += digit
    elif after_zero:
        raise ValueError("零 at the end")
    return value


def _fraction(text: str) -> int:
    """Return the cents written after 元 (零X分, X角, X角Y分); raise ValueError when malformed."""
    if not text:
        return 0
    match = re.fullmatch(r"[零〇]?(?:(?P<jiao>[^零〇角分])角)?(?:[零〇]?(?P<fen>[^零〇角分])分)?", text)
    if match is None:
        raise ValueError(f"malformed 角/分 part {text!r}")
    jiao, fen = match.group("jiao"), match.group("fen")
    if jiao is None and fen is None:
        raise ValueError(f"malformed 角/分 part {text!r}")
    cents = 0
    for part, factor in ((jiao, 10), (fen, 1)):
        if part is not None:
            if part not in DIGITS:
                raise ValueError(f"{part!r} is not a digit")
            cents += DIGITS[part] * factor
    return cents
