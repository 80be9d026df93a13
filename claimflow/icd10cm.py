"""The ICD-10-CM code set as data: is a diagnosis code read from a claim a real, billable code?

A shape (a letter, a digit, then digits or letters) lets through what OCR makes of a code: `S02.9` or `I90.29` for
J02.9 are ICD-10-shaped, and only the code set tells they are no code a claim can carry (S02.9 is a header that
needs its seventh character, I90 no category at all). `claimflow/data/icd10cm_codes.txt.gz` holds the 74,706
billable codes of ICD-10-CM (April 2026), one line per three-character category (`J02 0 8 9`; `I10` alone), made by
`scripts/icd10cm_codes.py` from the public-domain CDC/NCHS code list (see that script to regenerate it).

`repairs` proposes the real codes one OCR confusion away from a read that is not a code (J read 3, 5 or 7; 0 read O
or D; 1 read I; 8 read B; 5 read S ...); a caller takes a repair only when exactly one candidate is real, and never
confidently.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DATA = "icd10cm_codes.txt.gz"

CONFUSABLE: dict[str, str] = {
    "J": "3579I1T",
    "3": "J89B",
    "5": "JS6",
    "7": "J1TZ",
    "9": "J834",
    "8": "B3960",
    "0": "ODQ8",
    "O": "0DQJ",
    "D": "0O",
    "Q": "0O",
    "1": "IJ7T",
    "I": "1J7T",
    "l": "1I",
    "T": "17IJ",
    "S": "5J8",
    "B": "83E",
    "E": "FBZ",
    "F": "EJ",
    "Z": "27EI",
    "2": "Z7",
    "6": "G58",
    "G": "6C",
    "C": "G0J",
    "4": "A9",
    "A": "4J",
}
"""What each character read may have been printed as, in Helvetica or Courier scanned at 120-200 dpi (read -> printed).
Both directions of a pair are listed where OCR makes both mistakes (0/O, 1/I, 5/S, 8/B, 2/Z, 6/G). O, F, C and A may
be a J typed right after the slot's bracket, its stroke read glued to the J's hook (`extract_rows.J_TWINS`): `F02.9`
is then J02.9 or F07.9, two codes, and is not repaired (cms13). Z may be a Courier I typed right after the bracket
(the serifed I's bars and the bracket's foot: `[I10` read `Z10`)."""
J_LOST: dict[str, str] = {"O": "0", "I": "1"}
"""A code's first letter read for the digit after a J the slot's bracket took (`|J029` read `O29`: the J lost beside
the bracket, its 0 read as the letter a code starts with) -> that digit; the repair is J, the digit, the rest."""


@lru_cache(maxsize=1)
def billable_codes() -> frozenset[str]:
    """Return every billable ICD-10-CM code, without its dot (`J029`, `S83511A`, `I10`)."""
    raw = resources.files("claimflow.data").joinpath(DATA).read_bytes()
    codes: set[str] = set()
    for line in gzip.decompress(raw).decode("ascii").splitlines():
        category, *rests = line.split()
        if not rests:
            codes.add(category)
        codes.update(category + rest for rest in rests)
    return frozenset(codes)


def compact(code: str) -> str:
    """Return a code as the set keeps it: upper case, no dot or spaces (`j02.9` -> `J029`)."""
    return "".join(code.split()).replace(".", "").upper()


def is_icd10cm(code: str) -> bool:
    """Return True when `code` (with or without its dot) is a billable ICD-10-CM code."""
    return compact(code) in billable_codes()


def dotted(code: str) -> str:
    """Return a code of the set with its dot after the category (`J029` -> `J02.9`; `I10` stays)."""
    code = compact(code)
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


@lru_cache(maxsize=1)
def _headers() -> frozenset[str]:
    """Return every proper prefix of a billable code that is at least a category (`J02`, `S029`, `S029X`)."""
    return frozenset(code[:end] for code in billable_codes() for end in range(3, len(code)))


def is_cut(code: str) -> bool:
    """Return True when `code` is the start of billable codes, not one itself: a header, or a code read cut short.

    `N39` of N39.0 cut at a rule is such: its characters were read right, and it is never repaired into another code
    of its length (N33); only its letter, the character OCR confuses across classes (J read S), may be (S45.909,
    a header of S45.909A..., is J45.909).
    """
    return compact(code) in _headers() and not is_icd10cm(code)


def repairs(code: str, *, letter_only: bool = False) -> list[str]:
    """Return the real codes (dotted, sorted) one OCR confusion away from `code`: one character changed (CONFUSABLE).

    `letter_only`: only the first character (the letter) may change. A first letter O or I may also be the digit
    after a J the slot's bracket took (J_LOST: `O29` is J02.9).

    The read itself is not among them. A caller takes a repair only when it is the only one: two real codes one
    confusion away (`R10.8` and `R10.9` from `R1O.8`... ) leave the read as it was, for a person to look at.
    """
    read = "".join(code.split()).replace(".", "")
    found: set[str] = set()
    for index, char in enumerate(read[:1] if letter_only else read):
        for printed in CONFUSABLE.get(char, ""):
            candidate = (read[:index] + printed + read[index + 1 :]).upper()
            if candidate != read.upper() and candidate in billable_codes():
                found.add(dotted(candidate))
    digit = J_LOST.get(read[:1].upper())
    if digit is not None and (candidate := f"J{digit}{read[1:]}".upper()) in billable_codes():
        found.add(dotted(candidate))  # the J lost beside the slot's bracket (J_LOST)
    return sorted(found)


def rejoined(head: str, tail: str) -> str | None:
    """Return the billable code (dotted) a code cut at its dot makes with the characters read after the gap.

    A slot's typed code whose dot fell in the gap between the slot's two underline segments may be read as two words
    (`J45` `909`, `M79` `,604`): `head` must be the start of codes and no code itself (`is_cut`), and `head` + `tail`
    a billable code; anything else (`E78` + `I10`) is None.
    """
    if not is_cut(head):
        return None
    code = compact(head) + re.sub(r"[^0-9A-Za-z]", "", tail).upper()
    return dotted(code) if code in billable_codes() else None


ICD10_LIKE = re.compile(r"[A-Z]\d")
"""An item of a diagnosis list that is meant as an ICD-10 code: a letter, then a digit (`J02.9`, `S45.909`)."""


@dataclass(frozen=True, slots=True)
class ListCheck:
    """A diagnosis list checked against the code set: the items (repairs taken), what was repaired, what is no code."""

    items: list[str]
    repaired: list[tuple[str, str]]
    invalid: list[str]


def check_list(items: list[str]) -> ListCheck:
    """Check a list of diagnosis codes read from a claim against ICD-10-CM; repair what one OCR confusion explains.

    A claim's codes are all ICD-10 or all ICD-9: a list at most half of whose items are shaped as ICD-10 (a letter,
    then a digit) is taken for ICD-9 and not checked (ICD-9 codes are not in the set; the NUCC sample's ICD-9 slots
    read with their slot letter glued, `B525.00`, are such). Otherwise every item must be a billable code; one that is
    none takes the one real code one OCR confusion away (`S45.909` -> J45.909, `F11.9` -> E11.9) when exactly one
    is, and stays as read, invalid, when none or several are (a person reads it). An item that is the start of real
    codes (`is_cut`: `N39` of N39.0 cut at a rule) may only have its letter repaired (not N33).
    """
    if 2 * sum(bool(ICD10_LIKE.match(item.upper())) for item in items) <= len(items):
        return ListCheck(list(items), [], [])
    out, repaired, invalid = [], [], []
    for item in items:
        if is_icd10cm(item):
            out.append(item)
            continue
        found = repairs(item, letter_only=is_cut(item))
        if len(found) == 1:
            out.append(found[0])
            repaired.append((item, found[0]))
        else:
            out.append(item)
            invalid.append(item)
    return ListCheck(out, repaired, invalid)
