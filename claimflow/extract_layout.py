"""Page geometry for extraction: words regrouped into visual lines, fuzzy label anchors, value regions.

Readers number blocks and lines their own way (tesseract splits columns into blocks), so extraction
rebuilds lines from the boxes: words whose vertical extents overlap form one line, sorted by x.
Anchors are label phrases found with rapidfuzz on runs of consecutive words, so slightly misspelled
OCR labels still match and the match ratio becomes part of the value's confidence.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from claimflow.models import BBox, Page, Word
from claimflow.normalise import has_cjk

BLOCK_ALIGN = 0.03
"""How far (page width) the lines of a block under a label may start from the label's left edge."""
PHRASE_GAP = 0.02
"""Largest gap (page width) between two words of one phrase on a line."""
TALL_WORD = 3.0
"""A word taller than this many median word heights is sideways text, kept out of the rows it crosses."""
LARGE_WORD = 1.5
"""A word taller than this many median word heights is set large (a heading): it joins a row but does not
widen the row's vertical span, so the body line under it is not pulled into it."""
SPECK_WORD = 0.75
"""A word less high than this many median word heights is a speck or a sign (`1` read on a rule's remnant, `.`):
alone with large words in a row (a pre-printed form's 12 pt values among its 7 pt captions), it does not set
the row's span (`KOWALSKI,` a little lower on a tilted scan was cut from `DENISE G` by a speck's span)."""
SPACED_LETTERS = 2
"""Words this short may be the letters of one letter-spaced word (`P R O C E D U R E S`)."""
SKEW_SLOPE = 0.06
"""How far (page height per page width) a row may drift on a tilted scan: about 3.5 degrees."""
OWN_LINE_BAND = 1.5
"""A word the recognizer read on an anchor's own line may lie this many of its heights off it (words_skewed_right)."""
NOISE_WORD = 0.5
"""A line under a block's first line whose words are all read below this OCR confidence and none has more than
NOISE_CHARS letters or digits is scan noise (`ee` at 0.37, `SS ee es` at 0.15-0.27, `i` at 0.13: a rule's or a
speck's remnant under an issuer's address), not one of the block's lines."""
NOISE_CHARS = 2
MARK_WORD = 0.9
"""A word of no letter or digit at an end of a header line read below this is a speck or an outline (edge_junk)."""
EDGE_GAP = 2.0
"""A weak short word this many line heights or more from the rest of its line is noise beside it (edge_junk)."""
EDGE_SPECK = 0.5
"""A weak short word less high than this share of its line's words is a speck (edge_junk)."""
RULE_WORD = 4.0
"""A line under a block's first line whose words are all boxed wider than this many of their own heights per
letter is a rule or a stamp's outline read as letters (`EET` at 0.56 under a rotated invoice's sender block, boxed
~14 heights a letter), not one of the block's lines: printed words are boxed 0.35-1.4 heights a letter."""


def on_row(word: Word, top: float, bottom: float) -> bool:
    """Return True when `word` shares at least half the height of the lower of it and the row `top`-`bottom`."""
    shared = min(bottom, word.bbox[3]) - max(top, word.bbox[1])
    return shared >= 0.5 * min(bottom - top, word.bbox[3] - word.bbox[1])


@dataclass(frozen=True, slots=True)
class Line:
    """One visual line of words, left to right."""

    words: tuple[Word, ...]
    texts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The words' texts, kept once: every label of every spec is looked for on every line."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", tuple(word.text for word in self.words))

    @property
    def top(self) -> float:
        """Return the top of the line box."""
        return min(word.bbox[1] for word in self.words)

    @property
    def bottom(self) -> float:
        """Return the bottom of the line box."""
        return max(word.bbox[3] for word in self.words)

    @property
    def height(self) -> float:
        """Return the median word height."""
        heights = sorted(word.bbox[3] - word.bbox[1] for word in self.words)
        return heights[len(heights) // 2]

    @property
    def text(self) -> str:
        """Return the words joined by spaces."""
        return " ".join(word.text for word in self.words)


@dataclass(frozen=True, slots=True)
class AnchorHit:
    """A label found on a page: the line, the word span [start, end) and the fuzzy ratio (0..100)."""

    line_index: int
    start: int
    end: int
    score: float
    bbox: BBox


def build_lines(page: Page) -> list[Line]:
    """Group a page's words into visual lines (vertical overlap), top to bottom, each left to right.

    A word much taller than the page's usual word (text printed sideways in a margin) is a line of its
    own: joined to a row, its height would pull the rows above and below into that row.
    The lines of the same words are built once: classification, extraction and the second looks' boxes ask for
    the lines of one page many times (13 times for a CMS-1500's region and row boxes).
    """
    # keyed by the words' identities (callers tell words apart by id()), the words kept so no id is reused
    key = (tuple(id(word) for word in page.words), page.language)
    with _LINES_LOCK:
        known = _LINES.get(key)
        if known is not None:
            _LINES.move_to_end(key)
            return list(known[1])
    lines = _lines_of(tuple(page.words), page.language, page_aspect(page))
    with _LINES_LOCK:
        _LINES[key] = (tuple(page.words), lines)
        while len(_LINES) > LINES_KEPT:
            _LINES.popitem(last=False)
    return list(lines)


def page_aspect(page: Page) -> float:
    """Return a page's height / width (1.0 when unknown): its words' boxes are fractions of both."""
    return page.height / page.width if page.width > 0 and page.height > 0 else 1.0


LINES_KEPT = 64
"""Pages whose lines build_lines keeps (the most recently asked)."""
_LINES: OrderedDict[tuple[tuple[int, ...], str], tuple[tuple[Word, ...], tuple[Line, ...]]] = OrderedDict()
_LINES_LOCK = threading.Lock()


def _lines_of(page_words: tuple[Word, ...], language: str, aspect: float = 1.0) -> tuple[Line, ...]:
    """Return the lines of a page's words read in `language` (build_lines); `aspect`: the page's height / width."""
    words = sorted((w for w in page_words if w.text.strip()), key=lambda w: (w.bbox[1] + w.bbox[3]) / 2)
    spread = _spread_boxes(words, aspect)
    heights = sorted(w.bbox[3] - w.bbox[1] for w in words)
    tall = TALL_WORD * heights[len(heights) // 2] if heights else 1.0
    large = LARGE_WORD * heights[len(heights) // 2] if heights else 1.0
    speck = SPECK_WORD * heights[len(heights) // 2] if heights else 0.0
    groups: list[list[Word]] = [[w] for w in words if w.bbox[3] - w.bbox[1] > tall]
    standing = len(groups)
    # tesseract's CJK models give some words boxes that overlap their neighbours on the same line (`2026` boxed
    # over `年7月21`): on such pages words of one OCR line are not pushed into separate lines for overlapping
    trust_ocr_lines = language != "eng"
    for word in words:
        if word.bbox[3] - word.bbox[1] > tall:
            continue
        centre = (word.bbox[1] + word.bbox[3]) / 2
        fitting: list[list[Word]] = []
        for group in reversed(groups[max(standing, len(groups) - 3) :]):
            # a heading set larger (`INVOICE` beside the issuer's name) does not stretch its row over the next
            # row of body text (the address under the name): the row's span is that of its body-size words
            # nor does a speck read as a character (`1`, a dot) set the span of a row of large words by itself;
            # but a word OCR read on the word's own line does, whatever its size: of `Northgate Pediatrics` (12 pt
            # among 7 pt captions), `Pediatrics` joined a caption row without widening it, `Northgate`'s centre,
            # a little lower, fell under that row's span and the name was cut in two (box 33 read `Pediatrics`)
            own = word.line > 0
            body = [
                w
                for w in group
                if speck <= w.bbox[3] - w.bbox[1] <= large or (own and (w.block, w.line) == (word.block, word.line))
            ] or group
            top = min(w.bbox[1] for w in body)
            bottom = max(w.bbox[3] for w in body)
            if top <= centre <= bottom and (
                _overlaps_x_free(group, word, spread) or (trust_ocr_lines and _same_ocr_line(group, word))
            ):
                fitting.append(group)
        if fitting:
            # of the rows it fits, the one OCR read it on (`291` and `28` of one amount, a garbled mark of another
            # layer between them in height), else the latest
            next((g for g in fitting if _same_ocr_line(g, word)), fitting[0]).append(word)
        else:
            groups.append([word])
    lines = [Line(tuple(sorted(group, key=lambda w: w.bbox[0]))) for group in _reunited(groups[standing:], spread)]
    lines += [Line(tuple(group)) for group in groups[:standing]]
    return tuple(sorted(lines, key=lambda line: (round(line.top, 3), line.words[0].bbox[0])))


def _reunited(groups: list[list[Word]], spread: frozenset[int] = frozenset()) -> list[list[Word]]:
    """Return the rows with a word that left the rest of its OCR line set back beside them, where it fits.

    Words are placed one by one by height: a word read a little higher than the rest of its OCR line may fit a
    row of captions above before its line's other words open a row of their own (the middle initial `A` of
    `WILLIAMS, WEI A`, its top 0.0003 of the page above `WEI`'s, joined box 4's caption row, and the name lost
    it). Such a word goes to the row holding most of its OCR line's words when it lies within their height (half
    its own at least) and on top of no word of that row; a word boxed too wide for its text (`spread`: noise read
    as a word, _spread_boxes) stays where it is.
    """
    rows: dict[tuple[int, int], dict[int, int]] = {}
    for index, group in enumerate(groups):
        for word in group:
            if word.line > 0:
                counts = rows.setdefault((word.block, word.line), {})
                counts[index] = counts.get(index, 0) + 1
    for key, counts in rows.items():
        if len(counts) < 2:
            continue
        most = max(counts.values())
        homes = [index for index, count in counts.items() if count == most]
        if len(homes) != 1:
            continue
        home = groups[homes[0]]
        mates = [w for w in home if (w.block, w.line) == key]
        top, bottom = min(w.bbox[1] for w in mates), max(w.bbox[3] for w in mates)
        for index in counts:
            if index == homes[0]:
                continue
            for word in [w for w in groups[index] if (w.block, w.line) == key and id(w) not in spread]:
                shared = min(bottom, word.bbox[3]) - max(top, word.bbox[1])
                if shared >= 0.5 * (word.bbox[3] - word.bbox[1]) and _overlaps_x_free(home, word, spread):
                    groups[index].remove(word)
                    home.append(word)
    return [group for group in groups if group]


def _same_ocr_line(group: list[Word], word: Word) -> bool:
    """Return True when the OCR engine put `word` on the same line as a word of the group."""
    return any((w.block, w.line) == (word.block, word.line) for w in group) and word.line > 0


def _overlaps_x_free(group: list[Word], word: Word, spread: frozenset[int] = frozenset()) -> bool:
    """Return True unless the word sits on top of a word already in the line (then it is another line).

    A word of the same OCR line is beside it, not on top of it, even where their boxes overlap: on a degraded
    scan tesseract may give a word a box running over the next words of its line (`INSURED'S` of `4. INSURED'S
    NAME` boxed over `NAME (Last Name,`), and those words were pushed onto another row, where they glued to
    box 3's caption (`3 PATIENT'S NAME (Last Name,`) and box 4's caption was lost. Not so where one of the two
    boxes is too wide for the text of its line it spans (`spread`, _spread_boxes): that is noise read as a word
    (a rotated scan's `ar` boxed across a whole garbled row), and it stays off the row of the words it covers.
    """
    for other in group:
        if (
            word.line > 0
            and (other.block, other.line) == (word.block, word.line)
            and id(word) not in spread
            and id(other) not in spread
        ):
            continue
        overlap = min(other.bbox[2], word.bbox[2]) - max(other.bbox[0], word.bbox[0])
        if overlap > 0.5 * min(other.bbox[2] - other.bbox[0], word.bbox[2] - word.bbox[0]):
            return False
    return True


SPREAD_PITCH = 1.2
"""A word's box wider than this many (median) word heights per character of the text of its OCR line it spans
is noise read as a word (_spread_boxes). Measured on CMS-1500 seed 19 and invoice seed 13 scans: a word boxed over
the words after it (`INSURED'S` over `NAME (Last Name,`, `CLM-2026-91` over `7006`) spans 0.3-0.75 (a garbled
`MM , DD` 0.96), the garbage boxed across a row 1.4-1.8."""


def _spread_boxes(words: Sequence[Word], aspect: float) -> frozenset[int]:
    """Return the ids of words whose box covers other words of their OCR line and is too wide for all that text.

    A word boxed over the next words of its line spans their text too: its width per character of the text it
    spans (its own and theirs, a space between) is that of a line of print, under SPREAD_PITCH heights (the
    spanned words' median height; `aspect` is the page's height / width, boxes being page fractions).
    """
    by_line: dict[tuple[int, int], list[Word]] = {}
    for w in words:
        if w.line > 0:
            by_line.setdefault((w.block, w.line), []).append(w)
    spread: set[int] = set()
    for line in by_line.values():
        if len(line) < 2:
            continue
        for w in line:
            span = [o for o in line if w.bbox[0] <= (o.bbox[0] + o.bbox[2]) / 2 <= w.bbox[2]]
            if len(span) < 2:
                continue
            chars = sum(len(o.text) for o in span) + len(span) - 1
            heights = sorted(o.bbox[3] - o.bbox[1] for o in span)
            height = heights[len(heights) // 2] * aspect
            if height > 0 and w.bbox[2] - w.bbox[0] > SPREAD_PITCH * height * chars:
                spread.add(id(w))
    return frozenset(spread)


_NON_WORD = re.compile(r"[^\w]+")


@functools.lru_cache(maxsize=1 << 16)
def simplify(text: str) -> str:
    """Lower-case and drop punctuation for fuzzy label comparison (`Date of loss:` -> `date of loss`).

    Cached: every anchor of every spec is compared with every word of a page, so the same word texts
    are simplified thousands of times per document.
    """
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def union_box(words: tuple[Word, ...] | list[Word]) -> BBox:
    """Return the box enclosing the words."""
    return (
        min(w.bbox[0] for w in words),
        min(w.bbox[1] for w in words),
        max(w.bbox[2] for w in words),
        max(w.bbox[3] for w in words),
    )


def find_anchors(lines: list[Line], anchor: str, threshold: float) -> list[AnchorHit]:
    """Find every run of words matching `anchor` with a fuzzy ratio >= threshold (best per line).

    A label in Chinese (or another CJK script) is compared character by character with the spaces removed:
    OCR splits `保单号` into `保 单 号` or `保单 号`, and a text layer may glue it to its colon.
    """
    target, cjk = _target(anchor)
    if not target:
        return []
    if len(lines) < 2:
        return _hits(lines, target, cjk, threshold)
    # keyed by the lines' identities (build_lines hands out the same Line objects for the same words), the lines
    # kept so no id is reused: extraction looks for each field's labels twice (all labels, then the field's own),
    # classification looks for each keyword on the same pages, and re-extractions after a look on unchanged pages
    key = (tuple(map(id, lines)), target, threshold)
    with _ANCHORS_LOCK:
        known = _ANCHORS.get(key)
        if known is not None:
            _ANCHORS.move_to_end(key)
            return list(known[1])
    hits = _hits(lines, target, cjk, threshold)
    with _ANCHORS_LOCK:
        _ANCHORS[key] = (tuple(lines), tuple(hits))
        while len(_ANCHORS) > ANCHORS_KEPT:
            _ANCHORS.popitem(last=False)
    return hits


ANCHORS_KEPT = 4096
"""Anchor searches find_anchors keeps (the most recently asked: a few documents' labels)."""
_ANCHORS: OrderedDict[tuple[object, ...], tuple[tuple[Line, ...], tuple[AnchorHit, ...]]] = OrderedDict()
_ANCHORS_LOCK = threading.Lock()


def _hits(lines: Sequence[Line], target: str, cjk: bool, threshold: float) -> list[AnchorHit]:
    """Return the best run per line matching the simplified label `target` (find_anchors, not cached)."""
    if cjk:
        return _cjk_hits(lines, target.replace(" ", ""), threshold)
    hits: list[AnchorHit] = []
    indices = range(len(lines)) if len(lines) < TABLE_LINES else _lines_may_hold(lines, target, threshold)
    for index in indices:
        line = lines[index]
        found = _line_hit(line.texts, target, threshold)
        if found is not None:
            start, end, score = found
            hits.append(AnchorHit(index, start, end, score, union_box(line.words[start:end])))
    return hits


@functools.lru_cache(maxsize=1 << 16)
def _line_hit(texts: tuple[str, ...], target: str, threshold: float) -> tuple[int, int, float] | None:
    """Return the best run (start, end, score) of a line's words matching a Latin `target`, or None.

    It depends on the words' texts only, so it is cached: every label is looked for on every line, and a
    document is extracted again after each second reading with most of its lines unchanged.
    """
    simple, digits = _line_parts(texts)
    if not _may_hold(texts, target, threshold):
        return None
    size = len(target.split())
    target_digits = _digits(target)
    wanted = len(target)
    floor = threshold - 1e-6
    # a line shorter than the label can hold no run of words that matches it
    reachable = _may_reach(sum(map(len, simple)) + len(simple), wanted, threshold, longer_ok=True)
    alnum, lengths, counts = _line_runs(texts)
    best: tuple[int, int, float] | None = None
    for start in range(len(texts) if reachable else 0):
        if not alnum[start]:
            continue
        for length in range(max(1, size - 1), size + 2):
            end = start + length
            if end > len(texts):
                break
            # a label starts and ends with a word of letters or digits: a rule's mark read beside a caption
            # (`_|`, simplified `_`) came closer to a synonym's last word than nothing (`AMOUNT PAID _|` for
            # `AMOUNT PAID BOX`), and the taller mark moved the hit's box up into the caption's own row
            if not alnum[end - 1]:
                continue
            # the run's words joined by spaces, empty ones left out, measured without joining them (_may_reach:
            # a run much longer or shorter than the label cannot reach the threshold)
            joined = lengths[end] - lengths[start] + counts[end] - counts[start] - 1
            if 200.0 * min(joined, wanted) / (joined + wanted) < floor:
                continue
            parts = [part for part in simple[start:end] if part]
            # a word with a digit the label lacks makes the run a value (`invoice_number_1`, `28 500`)
            if any(not found <= target_digits for found in digits[start:end]):
                continue
            score = fuzz.ratio(" ".join(parts), target, score_cutoff=threshold)
            if score >= threshold and (best is None or score > best[2]):
                best = (start, end, score)
    spaced = _spaced_hit(simple, target, threshold)
    if spaced is not None and (best is None or spaced[2] > best[2]):
        best = spaced
    return best


def _cjk_hits(lines: Sequence[Line], wanted: str, threshold: float) -> list[AnchorHit]:
    """Find runs of words whose characters, spaces removed, match a CJK label (best run per line)."""
    hits: list[AnchorHit] = []
    for index, line in enumerate(lines):
        simple = [simplify(word.text).replace(" ", "") for word in line.words]
        best: AnchorHit | None = None
        for start in range(len(simple)):
            if not simple[start] or not has_cjk(simple[start]):
                continue
            joined = ""
            for end in range(start + 1, len(simple) + 1):
                joined += simple[end - 1]
                if len(joined) > len(wanted) + 1:
                    break
                if len(joined) < len(wanted) - 1 or (_digits(joined) - _digits(wanted)):
                    continue
                score = fuzz.ratio(joined, wanted)
                if score >= threshold and (best is None or score > best.score):
                    best = AnchorHit(index, start, end, score, union_box(line.words[start:end]))
        if best is not None:
            hits.append(best)
    return hits


@functools.lru_cache(maxsize=1 << 14)
def _line_runs(texts: tuple[str, ...]) -> tuple[tuple[bool, ...], tuple[int, ...], tuple[int, ...]]:
    """Return per simplified word of a line whether it holds a letter or digit, and running totals of the words.

    The totals (from 0, one more than the words) of the words' lengths and of the non-empty words: a run of words'
    joined length is two subtractions (_line_hit measures every run of one to four words of each line that may
    hold a label).
    """
    simple = _line_parts(texts)[0]
    return (
        tuple(map(_has_alnum, simple)),
        tuple(itertools.accumulate(map(len, simple), initial=0)),
        tuple(itertools.accumulate((1 if part else 0 for part in simple), initial=0)),
    )


@functools.lru_cache(maxsize=1 << 12)
def _has_alnum(part: str) -> bool:
    """Return True when a simplified word holds a letter or a digit (`_`, what simplify leaves of `_|`, does not)."""
    return any(ch.isalnum() for ch in part)


def _spaced_hit(simple: Sequence[str], target: str, threshold: float) -> tuple[int, int, float] | None:
    """Find the anchor written letter-spaced (one word per letter or two), comparing without spaces."""
    if sum(1 for part in simple if 0 < len(part) <= SPACED_LETTERS) < 3:
        return None  # a spaced run needs at least three short words
    wanted = target.replace(" ", "")
    best: tuple[int, int, float] | None = None
    for start in range(len(simple)):
        if not 0 < len(simple[start]) <= SPACED_LETTERS:
            continue
        joined = ""
        for end in range(start + 1, len(simple) + 1):
            joined += simple[end - 1].replace(" ", "")
            if len(joined) > len(wanted) + 2:
                break
            if len(joined) < len(wanted) - 2 or end - start < 3:
                continue
            score = fuzz.ratio(joined, wanted)
            if score >= threshold and (best is None or score > best[2]):
                best = (start, end, score)
    return best


@functools.lru_cache(maxsize=1 << 16)
def _digits(text: str) -> frozenset[str]:
    """Return the digits used in a text."""
    return frozenset(ch for ch in text if ch.isdigit())


@functools.lru_cache(maxsize=1 << 12)
def _target(anchor: str) -> tuple[str, bool]:
    """Return an anchor simplified, and whether it is in a CJK script (cached: specs ask for the same labels)."""
    target = simplify(anchor)
    return target, has_cjk(target)


@functools.lru_cache(maxsize=1 << 14)
def _line_parts(texts: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[frozenset[str], ...]]:
    """Return the simplified words of a line and the digits of each (cached: every anchor scans every line)."""
    simple = tuple(simplify(text) for text in texts)
    return simple, tuple(_digits(part) for part in simple)


@functools.lru_cache(maxsize=1 << 14)
def _char_counts(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Return the distinct characters of a label and how often each occurs (cached: labels are counted once)."""
    counted = Counter(text)
    return tuple(counted), tuple(counted.values())


@functools.lru_cache(maxsize=1 << 14)
def _line_counts(texts: tuple[str, ...]) -> dict[str, int]:
    """Return how often each character occurs in a line's simplified words joined by spaces (cached per line)."""
    return dict(Counter(" ".join(part for part in _line_parts(texts)[0] if part)))


def _may_hold(texts: tuple[str, ...], target: str, threshold: float) -> bool:
    """Return False when no run of the line's words can reach `threshold` against `target`, without comparing runs.

    fuzz.ratio is 200 * LCS / (total length), and the longest common subsequence of a run and the label is at most
    the characters they share (counted with repeats), which is at most what the whole line shares with the label,
    `common`; a run sharing `common` scores at most 200 * common / (common + label length). The same holds
    without spaces for letter-spaced labels (`_spaced_hit`). Most lines share too few of a label's letters: they
    are ruled out in a few dictionary look-ups instead of a comparison per run of words (the largest Python cost
    of reading a page).
    """
    line = _line_counts(texts)
    chars, counts = _char_counts(target)
    common = sum(map(min, counts, map(line.get, chars, itertools.repeat(0))))  # C loops: a line costs ~1 us
    if 200.0 * common / (common + len(target)) >= threshold - 1e-6:
        return True
    spaces = target.count(" ")
    letters = common - min(spaces, line.get(" ", 0))
    return letters > 0 and 200.0 * letters / (letters + len(target) - spaces) >= threshold - 1e-6


TABLE_LINES = 8
"""Lines from which an anchor search rules lines out all at once (_lines_may_hold) rather than line by line."""


@dataclass(frozen=True, slots=True)
class _CharTable:
    """How often each character occurs in each line of a page (_line_counts of every line, as one array)."""

    columns: dict[str, int]
    counts: np.ndarray
    spaces: np.ndarray


@functools.lru_cache(maxsize=1 << 10)
def _char_table(texts: tuple[tuple[str, ...], ...]) -> _CharTable:
    """Return the character counts of lines given by their words' texts (cached: every label scans the same page)."""
    per_line = [_line_counts(line) for line in texts]
    columns: dict[str, int] = {}
    for counted in per_line:
        for ch in counted:
            columns.setdefault(ch, len(columns))
    counts = np.zeros((len(per_line), len(columns) + 1), dtype=np.int64)  # the last column: a character no line has
    for row, counted in enumerate(per_line):
        counts[row, [columns[ch] for ch in counted]] = list(counted.values())
    space = columns.get(" ")
    spaces = counts[:, space] if space is not None else np.zeros(len(per_line), dtype=np.int64)
    return _CharTable(columns, counts, spaces)


def _lines_may_hold(lines: Sequence[Line], target: str, threshold: float) -> list[int]:
    """Return the indices of the lines _may_hold keeps for `target`, decided for all lines in a few array operations.

    The same bound as _may_hold, computed the same way (float64 like Python's floats), so it keeps exactly the lines
    _may_hold keeps: on a page of 30-60 lines most labels share too few letters with most lines, and one array pass
    replaces a cached call per line.
    """
    table = _char_table(tuple(line.texts for line in lines))
    chars, counts = _char_counts(target)
    missing = len(table.columns)
    wanted = [table.columns.get(ch, missing) for ch in chars]
    common = np.minimum(table.counts[:, wanted], np.asarray(counts, dtype=np.int64)).sum(axis=1)
    length = len(target)
    keep = 200.0 * common / (common + length) >= threshold - 1e-6
    spaces = target.count(" ")
    letters = common - np.minimum(spaces, table.spaces)
    spaced = letters > 0
    keep |= spaced & (200.0 * letters / np.where(spaced, letters + length - spaces, 1) >= threshold - 1e-6)
    return np.flatnonzero(keep).tolist()


def _may_reach(length: int, other: int, threshold: float, *, longer_ok: bool = False) -> bool:
    """Return False when a text of `length` characters cannot reach `threshold` in fuzz.ratio with one of `other`.

    fuzz.ratio is 100 * (1 - indel distance / total length), and the indel distance is at least the length
    difference, so a candidate much longer or shorter than the label is skipped without comparing it.
    `longer_ok`: `length` is only an upper bound of the candidates' lengths (a whole line), so only being
    too short rules them out.
    """
    if longer_ok and length >= other:
        return True
    total = length + other
    return total > 0 and 200.0 * min(length, other) / total >= threshold - 1e-6


def contains_phrase(line: Line, phrase: str, threshold: float = 88.0) -> bool:
    """Return True when the line contains `phrase` (fuzzy, word-aligned)."""
    return bool(find_anchors([line], phrase, threshold))


def words_right(lines: list[Line], hit: AnchorHit) -> list[Word]:
    """Return the words right of the anchor on its line."""
    return list(lines[hit.line_index].words[hit.end :])


def words_below(lines: list[Line], hit: AnchorHit, count: int, aspect: float = 1.0) -> list[Line]:
    """Return up to `count` lines below the anchor, restricted to words overlapping the anchor's column.

    `aspect`: the page's height / width (boxes are page fractions), to tell a rule read as a word (noise_line).
    """
    x0, _, x1, bottom = hit.bbox
    anchor_line = lines[hit.line_index]
    # the column reaches right until the next word after the anchor on its own line, if any
    after = anchor_line.words[hit.end :]
    right_limit = after[0].bbox[0] if after else 1.0
    out: list[Line] = []
    for line in lines[hit.line_index + 1 :]:
        picked = _cluster(line, x0, max(x1, right_limit), own=x1)
        # the top of the words under the anchor, not of the row: a heading set large on the right (`INVOICE`)
        # may share the row of the address line under the issuer and reach above the issuer's bottom
        under = [w for w in picked if w.bbox[0] < x1 and w.bbox[2] > x0] or picked
        top = min(w.bbox[1] for w in under) if under else line.top
        if top < bottom:
            continue
        if top - bottom > 4 * max(line.height, anchor_line.height) and not out:
            break
        if out and top - out[-1].bottom > 1.5 * max(line.height, out[-1].height):
            break  # a blank gap ends the block
        if out and picked and not _aligned(union_box(picked), union_box(out[-1].words)):
            break  # a block is left-, right- or centre-aligned
        if out and noise_line(picked, aspect):
            continue
        if picked:
            out.append(Line(picked))
        if len(out) >= count:
            break
    return out


def noise_line(words: Sequence[Word], aspect: float = 1.0) -> bool:
    """Return True when `words` are scan noise read as a line, not a line of print.

    Either all weak and short (NOISE_WORD, NOISE_CHARS), or all boxed far wider than letters are (RULE_WORD):
    a rule or an outline read as a word. `aspect` is the page's height / width (boxes are page fractions).
    """
    return bool(words) and (
        all(w.confidence < NOISE_WORD and sum(1 for ch in w.text if ch.isalnum()) <= NOISE_CHARS for w in words)
        or all(_heights_a_letter(w, aspect) > RULE_WORD for w in words)
    )


def edge_junk(line: Line, aspect: float = 1.0) -> tuple[Word, ...]:
    """Return the words at either end of a line that are scan noise beside the print, not words of it.

    A speck or a stamp's outline beside a header line is read as a word of its row and joined into the value
    (`Mill Lane te` at 0.23, `“~~. Kerkstraat`, `SUITE 19 >`, `rs 1017 GC`). Peeled from each end while one is:
    a word of no letter or digit read below MARK_WORD (`>` at 0.69, a backslash at 0.87, `:`, `|`, `~`); or a weak word
    (below NOISE_WORD, at most NOISE_CHARS letters or digits) standing EDGE_GAP of the line's word heights or more
    from the rest (`te` 2.7 heights from `Lane`; words of print stand about one apart, `“NO.` 0.8 from `67,`) or less
    high than EDGE_SPECK of them (`s` 0.1 as high). `aspect`: the page's height / width. The last word stays.
    """
    words = list(line.words)
    heights = sorted(w.bbox[3] - w.bbox[1] for w in words)
    height = heights[len(heights) // 2]
    junk: list[Word] = []
    while len(words) > 1:
        for end, inner in ((0, 1), (-1, -2)):
            if _edge_noise(words[end], words[inner], height, aspect):
                junk.append(words.pop(end))
                break
        else:
            break
    return tuple(junk)


def _edge_noise(word: Word, inner: Word, height: float, aspect: float) -> bool:
    """Return True when `word`, at an end of a line beside `inner`, is noise (edge_junk); `height`: the line's."""
    if not any(ch.isalnum() for ch in word.text):
        return word.confidence < MARK_WORD
    if word.confidence >= NOISE_WORD or sum(1 for ch in word.text if ch.isalnum()) > NOISE_CHARS:
        return False
    gap = max(inner.bbox[0] - word.bbox[2], word.bbox[0] - inner.bbox[2])
    return gap >= EDGE_GAP * height * aspect or word.bbox[3] - word.bbox[1] < EDGE_SPECK * height


def _heights_a_letter(word: Word, aspect: float) -> float:
    """Return how many of its own heights a word's box is wide per character (print: 0.35-1.4)."""
    height = (word.bbox[3] - word.bbox[1]) * aspect
    letters = len(word.text.strip())
    if height <= 0 or letters == 0:
        return 0.0
    return (word.bbox[2] - word.bbox[0]) / letters / height


def _cluster(line: Line, left: float, right: float, *, own: float | None = None) -> tuple[Word, ...]:
    """Return the words overlapping [left, right], extended to neighbours closer than a word gap (one phrase).

    With `own` (the right edge of the anchor itself), when a phrase of the line overlaps [left, own], phrases
    that only reach into the rest of the column are another block's: on a skewed invoice the row of the issuer's
    last address line took `Invoice No: INV-48457` from the right, whose first word started just inside the
    column (which runs to the heading `INVOICE` on the anchor's row), and the address ended `... INV-48457`.
    """
    words = line.words
    inside = [i for i, w in enumerate(words) if w.bbox[2] > left - 0.01 and w.bbox[0] < right]
    if own is not None:
        under = [i for i in inside if words[i].bbox[0] < own]
        # the phrases starting under the anchor: a word starting further right must be joined to them by
        # word gaps (the extension below), not only overlap the column
        if under and any(words[i].bbox[0] - words[i - 1].bbox[2] >= PHRASE_GAP for i in inside[1:] if i > under[-1]):
            inside = under
    if not inside:
        return ()
    start, end = inside[0], inside[-1]
    while start > 0 and words[start].bbox[0] - words[start - 1].bbox[2] < PHRASE_GAP:
        start -= 1
    while end + 1 < len(words) and words[end + 1].bbox[0] - words[end].bbox[2] < PHRASE_GAP:
        end += 1
    return words[start : end + 1]


def _aligned(box: BBox, previous: BBox) -> bool:
    """Return True when two line boxes share a left edge, right edge or centre."""
    return (
        abs(box[0] - previous[0]) <= BLOCK_ALIGN
        or abs(box[2] - previous[2]) <= BLOCK_ALIGN
        or abs((box[0] + box[2]) / 2 - (previous[0] + previous[2]) / 2) <= BLOCK_ALIGN
    )


def words_in_region(lines: list[Line], box: BBox) -> list[Line]:
    """Return the lines of words whose centre lies inside `box`."""
    out: list[Line] = []
    for line in lines:
        picked = tuple(
            w
            for w in line.words
            if box[0] <= (w.bbox[0] + w.bbox[2]) / 2 <= box[2] and box[1] <= (w.bbox[1] + w.bbox[3]) / 2 <= box[3]
        )
        if picked:
            out.append(Line(picked))
    return out


def words_skewed_right(lines: list[Line], hit: AnchorHit) -> list[Line]:
    """Return the nearest other line's words right of the anchor, within a skew band (tilted scans, form widgets).

    A line the recognizer read as the anchor's own (the same block and line: it follows the tilt of the print) is
    taken before a nearer one: on a page tilted down to the right the row above can lie nearer the label than its
    own value (full seed 26 motor 002 rotated: `Amount claimed:` took `6519` of the registration above at 0.987
    calibrated, where the recognizer's own line holds `493.98`).
    """
    x1 = hit.bbox[2]
    centre = (hit.bbox[1] + hit.bbox[3]) / 2
    height = hit.bbox[3] - hit.bbox[1]
    own = {(w.block, w.line) for w in lines[hit.line_index].words[hit.start : hit.end] if w.line > 0}
    best: tuple[float, Line] | None = None
    for index, line in enumerate(lines):
        if index == hit.line_index:
            continue
        qualifies = any(
            word.bbox[0] >= x1 - 0.005
            and abs((word.bbox[1] + word.bbox[3]) / 2 - centre)
            <= (OWN_LINE_BAND * height if (word.block, word.line) in own else min(
                max(0.6 * height, SKEW_SLOPE * (word.bbox[0] - x1)), 0.9 * height
            ))
            for word in line.words
        )
        picked = [word for word in line.words if word.bbox[0] >= x1 - 0.005] if qualifies else []
        if picked:
            distance = abs((picked[0].bbox[1] + picked[0].bbox[3]) / 2 - centre)
            if (picked[0].block, picked[0].line) in own:
                distance -= 1.0  # the recognizer's own line of the anchor comes first
            if best is None or distance < best[0]:
                best = (distance, Line(tuple(picked)))
    return [best[1]] if best is not None else []


def hit_for_box(lines: list[Line], bbox: BBox) -> AnchorHit | None:
    """Return a pseudo anchor for a box already found on the page (a field used as the anchor of another)."""
    for index, line in enumerate(lines):
        inside = [
            i
            for i, w in enumerate(line.words)
            if w.bbox[0] >= bbox[0] - 1e-6
            and w.bbox[2] <= bbox[2] + 1e-6
            and line.top <= (bbox[1] + bbox[3]) / 2 <= line.bottom
        ]
        if inside:
            return AnchorHit(index, inside[0], inside[-1] + 1, 100.0, bbox)
    return None
