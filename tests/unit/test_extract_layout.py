"""Anchor search: the quick rule-out of lines that cannot hold a label never drops a line that does."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from claimflow.extract_layout import (
    TABLE_LINES,
    Line,
    _line_hit,
    _lines_may_hold,
    _may_hold,
    build_lines,
    find_anchors,
    simplify,
)
from claimflow.models import Page, ReadMethod, Word

LABELS = ["total", "total amount", "date of loss", "invoice no", "patient s name", "gst", "amount due", "tax"]
WORDS = ["TOTAL", "TOTA1", "Amount", "AMT", "Date", "of", "loss", "INV", "No.", "Invoice", "tax", "T", "O", "A", "L",
         "GST", "6%", "12.50", "RM", "due", "Patient's", "NAME", "x", "Qty", "Dat3", "Lo5s"]  # fmt: skip


def _best_run(texts: tuple[str, ...], target: str) -> float:
    """Return the best fuzz.ratio of any run of the words against the label, with and without spaces."""
    simple = [simplify(text) for text in texts]
    best = 0.0
    for start in range(len(simple)):
        for end in range(start + 1, len(simple) + 1):
            parts = [part for part in simple[start:end] if part]
            if parts:
                spaced = fuzz.ratio("".join(parts), target.replace(" ", ""))
                best = max(best, fuzz.ratio(" ".join(parts), target), spaced)
    return best


def test_a_line_ruled_out_holds_no_run_that_reaches_the_threshold() -> None:
    rng = random.Random(7)
    ruled_out = 0
    for _ in range(3000):
        texts = tuple(rng.choice(WORDS) for _ in range(rng.randint(1, 7)))
        target, threshold = rng.choice(LABELS), rng.choice([70.0, 80.0, 85.0, 88.0, 92.0])
        if not _may_hold(texts, target, threshold):
            ruled_out += 1
            assert _best_run(texts, target) < threshold, (texts, target, threshold)
    assert ruled_out > 500  # the rule-out does rule lines out


def test_a_letter_spaced_label_on_a_line_with_fewer_spaces_than_the_label_is_found() -> None:
    # with its spaces the line cannot reach 98 (93.3 at best); without them it reads the label exactly
    assert _line_hit(("AB", "CD", "E"), "a b c de", 98.0) == (0, 3, 100.0)


def test_labels_are_still_found_on_their_lines() -> None:
    def line(*texts: str) -> Line:
        return Line(tuple(Word(text, (0.1 * i, 0.5, 0.1 * i + 0.08, 0.52), 0.9) for i, text in enumerate(texts)))

    lines = [line("SOME", "SHOP"), line("T", "O", "T", "A", "L", "12.50"), line("Date", "of", "Ioss:", "01/02/2026")]
    assert [(hit.line_index, hit.start, hit.end) for hit in find_anchors(lines, "Total", 85.0)] == [(1, 0, 5)]
    assert [(hit.line_index, hit.start, hit.end) for hit in find_anchors(lines, "Date of loss", 85.0)] == [(2, 0, 3)]


def test_a_label_run_ends_at_a_word_with_letters_not_at_a_rules_mark() -> None:
    """cms16: box 30's left rule read `_|` after `29. AMOUNT PAID`, taller than the caption: the synonym `AMOUNT PAID
    BOX` matched `AMOUNT PAID _|` closer than `AMOUNT PAID`, and the hit's box, reaching up to the mark's top, placed
    box 28's region on the captions' own row, which read `28. 29` as the total charge ($28.29 for $223.55)."""
    caption = [("28.", 0.616), ("TOTAL", 0.632), ("CHARGE", 0.666), ("29.", 0.748), ("AMOUNT", 0.765), ("PAID", 0.811)]
    words = [Word(text, (x, 0.8459, x + 0.03, 0.8518), 0.9) for text, x in caption]
    words += [Word("_|", (0.843, 0.8405, 0.858, 0.8555), 0.46), Word("30.", (0.861, 0.8459, 0.872, 0.8518), 0.96)]
    (hit,) = find_anchors([Line(tuple(words))], "AMOUNT PAID BOX", 80.0)
    assert [w.text for w in words[hit.start : hit.end]] == ["AMOUNT", "PAID"]
    assert hit.bbox[1] == 0.8459  # the caption's top, not the mark's
    # a label still starts and ends with its own words when they hold letters or digits
    assert _line_hit(("25.", "FEDERAL", "TAX", "I.D.", "NUMBER"), "federal tax i d number", 85.0) == (1, 5, 100.0)


def test_a_word_joins_the_row_ocr_read_it_on_when_it_fits_two_rows() -> None:
    """`291` and `28` (dollars | cents of one amount, one OCR line) stay one line.

    A mark of another layer (`2 e`, on top of `233048` so a row of its own) overlaps both in height and was
    placed after them: the amount was cut in two and box 28 lost.
    """
    words = [
        Word("233048", (0.32, 0.864, 0.365, 0.876), 0.9, block=3030, line=1),
        Word("291", (0.676, 0.864, 0.707, 0.876), 0.93, block=3033, line=1),
        Word("2", (0.35, 0.866, 0.37, 0.878), 0.5, block=40, line=1),
        Word("e", (0.38, 0.867, 0.39, 0.878), 0.5, block=41, line=1),
        Word("28", (0.723, 0.867, 0.743, 0.877), 0.96, block=3033, line=1),
    ]
    page = Page(number=1, width=612.0, height=792.0, method=ReadMethod.OCR, words=words)
    lines = [line.text for line in build_lines(page)]
    assert "233048 291 28" in lines
    # without an OCR line in common the latest row that fits takes the word, as before
    words[4] = Word("28", (0.723, 0.867, 0.743, 0.877), 0.96, block=3034, line=1)
    assert "2 e 28" in [line.text for line in build_lines(page)]


def test_a_speck_does_not_set_the_span_of_a_row_of_large_words() -> None:
    """Pre-printed values (12 pt) among captions (7 pt) are all 'large'; a speck read as `1` among them set the
    row's span alone, and `KOWALSKI,`, a little lower on a tilted scan, became a row of its own."""
    captions = [Word(f"C{i}", (0.05 * i, 0.10, 0.05 * i + 0.04, 0.106), 0.9) for i in range(12)]
    words = captions + [
        Word("DENISE", (0.166, 0.1582, 0.235, 0.1677), 0.9),
        Word("1", (0.455, 0.1595, 0.456, 0.1636), 0.6),
        Word("KOWALSKI,", (0.048, 0.1586, 0.149, 0.1695), 0.9),
    ]
    page = Page(number=1, width=612.0, height=792.0, method=ReadMethod.OCR, words=words)
    assert "KOWALSKI, DENISE 1" in [line.text for line in build_lines(page)]


def test_a_large_word_sets_the_row_span_for_the_words_of_its_own_ocr_line() -> None:
    """`Northgate Pediatrics` (box 33's 12 pt name among 7 pt captions: both words 'large', one OCR line) sits a
    little lower than box 31's caption line `(I certify that ...`. `Pediatrics`, the higher centre, joined that
    row without widening its span; `Northgate`'s centre fell under the span and opened a row with the caption line
    below (`apply to this bill`): box 33's region read `Pediatrics` alone, at 0.97. A word's own OCR line mates
    in a row set that row's span for it."""
    caption = [
        Word("(I", (0.059, 0.8942, 0.065, 0.9005), 0.96, block=242, line=1),
        Word("certify", (0.068, 0.8937, 0.094, 0.901), 0.96, block=242, line=1),
    ]
    caption += [
        Word(t, (0.1 + 0.03 * i, 0.8937, 0.12 + 0.03 * i, 0.8996), 0.96, block=242, line=1)
        for i, t in enumerate(["that", "the", "statements", "on", "the", "reverse"])
    ]
    below = [
        Word(t, (0.06 + 0.03 * i, 0.9024, 0.08 + 0.03 * i, 0.9078), 0.96, block=244, line=1)
        for i, t in enumerate(["apply", "to", "this", "bill", "and", "are", "made"])
    ]
    name = [
        Word("Northgate", (0.634, 0.8962, 0.721, 0.9064), 0.96, block=1, line=3),
        Word("Pediatrics", (0.732, 0.8958, 0.829, 0.9046), 0.96, block=1, line=3),
    ]
    # the page's other captions (7 pt) set the median word height: both 12 pt words are 'large'
    others = [Word(f"C{i}", (0.05 * i, 0.5, 0.05 * i + 0.04, 0.505), 0.9, block=9, line=1) for i in range(16)]
    caption += others
    page = Page(1, 612.0, 792.0, ReadMethod.OCR, words=[*caption, *below, *name])
    lines = [line.text for line in build_lines(page)]
    assert any(text.endswith("reverse Northgate Pediatrics") for text in lines), lines
    # a word of another OCR line is held to the row's body span, as before
    name[0] = Word("Northgate", (0.634, 0.8962, 0.721, 0.9064), 0.96, block=2, line=3)
    lines = [line.text for line in build_lines(Page(1, 612.0, 792.0, ReadMethod.OCR, words=[*caption, *below, *name]))]
    assert not any(text.endswith("Northgate Pediatrics") for text in lines), lines


def test_a_word_read_a_little_higher_than_its_ocr_line_is_set_back_beside_it() -> None:
    """The middle initial `A` of `WILLIAMS, WEI A` (one OCR line, seed 19 pre-printed 003's box 4 read again) fitted
    box 4's caption row, which `SEX` stretched below its middle, before `WEI` (on top of the caption `Neme`) opened
    the value's row: the name lost its initial. It goes back to the row holding the rest of its OCR line."""
    captions = [
        Word("SEX", (0.5463, 0.1542, 0.5651, 0.1600), 0.96, block=34, line=1),
        *(
            Word(text, (x0, 0.1506, x1, y1), 0.9, block=35, line=1)
            for text, x0, x1, y1 in (("4.", 0.6169, 0.6231, 0.1557), ("INSUIRED'S", 0.6275, 0.6788, 0.1563),
                                     ("NAME", 0.6831, 0.7102, 0.1560), ("(Last", 0.7145, 0.7349, 0.1575),
                                     ("Neme", 0.7388, 0.7639, 0.1560), ("First", 0.7706, 0.7882, 0.1560),
                                     ("Name,", 0.7922, 0.8196, 0.1569), ("Middle", 0.8239, 0.8518, 0.1560),
                                     ("Initial)", 0.8553, 0.8808, 0.1575))
        ),
        Word("M", (0.5051, 0.1663, 0.5118, 0.1718), 0.93, block=39, line=1),
        Word("F", (0.5694, 0.1657, 0.5745, 0.1712), 0.88, block=40, line=1),
    ]  # fmt: skip
    williams = Word("WILLIAMS,", (0.6184, 0.1542, 0.7196, 0.1651), 0.96, block=3005, line=1)
    wei = Word("WEI", (0.7361, 0.1539, 0.7690, 0.1633), 0.96, block=3005, line=1)

    def lines(initial: Word) -> list[str]:
        page = Page(1, 612.0, 792.0, ReadMethod.OCR, words=[*captions, williams, wei, initial])
        return [line.text for line in build_lines(page)]

    assert "WILLIAMS, WEI A" in lines(Word("A", (0.7827, 0.1539, 0.7945, 0.1630), 0.95, block=3005, line=1))
    # a word of another OCR line stays where it fitted
    assert "WILLIAMS, WEI" in lines(Word("A", (0.7827, 0.1539, 0.7945, 0.1630), 0.95, block=3006, line=1))


def test_a_word_of_the_values_ocr_line_set_on_a_line_of_its_own_says_the_value_may_be_cut() -> None:
    from claimflow.extract import split_from_value

    maple, street, health = (Word(t, (x, 0.887, x + 0.06, 0.896), 0.96, 3, 1) for t, x in
                             (("MAPLE", 0.648), ("STREET", 0.72), ("HEALTH", 0.80)))
    center = Word("CENTER", (0.884, 0.887, 0.953, 0.897), 0.96, 3, 1)  # same OCR line as HEALTH, after it
    address = Word("9652", (0.65, 0.901, 0.69, 0.911), 0.96, 4, 1)  # the next OCR line: another value
    used = (maple, street, health)
    assert split_from_value([Line(used), Line((center,)), Line((address,))], used)
    assert not split_from_value([Line((*used, center)), Line((address,))], (*used, center))
    assert not split_from_value([Line(used), Line((address,))], used)


def test_an_anchor_search_is_kept_for_the_same_lines_and_only_for_them() -> None:
    def line(y: float, *texts: str) -> Line:
        return Line(tuple(Word(text, (0.1 * i, y, 0.1 * i + 0.08, y + 0.02), 0.9) for i, text in enumerate(texts)))

    lines = [line(0.1, "SOME", "SHOP"), line(0.5, "TOTAL", "12.50")]
    first = find_anchors(lines, "Total", 85.0)
    again = find_anchors(list(lines), "Total", 85.0)  # the same Line objects in another list: the kept search
    assert again == first and again is not first
    again.clear()  # a caller's list is its own
    assert find_anchors(lines, "Total", 85.0) == first
    # the same texts on other lines (another page, or the page read again): searched again, boxes of those lines
    moved = [line(0.1, "SOME", "SHOP"), line(0.7, "TOTAL", "12.50")]
    assert [hit.bbox[1] for hit in find_anchors(moved, "Total", 85.0)] == [0.7]
    assert [hit.bbox[1] for hit in first] == [0.5]


def test_a_word_right_after_the_value_on_its_row_but_not_on_its_line_of_the_region_says_the_value_may_be_cut() -> None:
    from claimflow.extract import cut_by_region

    summit = Word("Summit", (0.6326, 0.9008, 0.6893, 0.9101), 0.94, 1, 1)
    rest = Word("Orthopedics", (0.7004, 0.9007, 0.8071, 0.9116), 0.60, 1, 63)  # another reading's numbering
    far = Word("Orthopedics", (0.80, 0.9007, 0.9067, 0.9116), 0.60, 1, 63)  # a column away
    street = Word("8154", (0.633, 0.914, 0.669, 0.9225), 0.96, 1, 64)  # the next line: another value
    used = (summit,)
    # the line builder set the rest on a line of its own, inside the region, or the region left it out
    assert cut_by_region([Line(used), Line((rest,))], [Line(used), Line((rest,))], used)
    assert cut_by_region([Line((summit, rest))], [Line(used)], used)
    assert not cut_by_region([Line((summit, rest))], [Line((summit, rest))], (summit, rest))
    assert not cut_by_region([Line(used), Line((street,))], [Line(used), Line((street,))], used)
    assert not cut_by_region([Line((summit, far))], [Line(used)], used)


def test_a_word_over_the_values_last_letter_running_on_past_it_says_the_value_may_be_cut() -> None:
    from claimflow.extract import cut_by_region

    # seed 23 full 016 degraded: the `y` of `Therapy` read with ink below it as a `1` on the next line's OCR line
    words = (
        Word("Pinecrest", (0.633, 0.900, 0.699, 0.910), 0.96, 1, 1),
        Word("Physical", (0.705, 0.900, 0.764, 0.912), 0.96, 1, 1),
        Word("Therap", (0.769, 0.900, 0.821, 0.912), 0.96, 1, 1),
    )
    over = Word("1", (0.813, 0.902, 0.836, 0.922), 0.20, 2, 1)
    street = Word("Albany", (0.748, 0.912, 0.798, 0.925), 0.91, 2, 1)
    zipcode = Word("2207", (0.839, 0.913, 0.876, 0.922), 0.96, 2, 1)
    region = [Line(words), Line((street, over, zipcode))]
    assert cut_by_region(region, region, words)
    # a word that ends with the value (the value read twice) or lies on the next line only does not
    inside = Word("y", (0.813, 0.902, 0.8215, 0.912), 0.20, 2, 1)
    lower = Word("NY", (0.803, 0.913, 0.836, 0.922), 0.91, 2, 1)
    for other in (inside, lower):
        region = [Line(words), Line((street, other))]
        assert not cut_by_region(region, region, words)


def test_a_word_right_before_the_value_on_its_row_outside_its_line_of_the_region_says_it_may_be_cut() -> None:
    from claimflow.extract import cut_by_region

    # seed 24 full 008 degraded: the region's bottom edge ran between the centres of `Northgate` (its descender
    # lowers its box) and `Pediatrics`; the provider was read `Pediatrics` at 0.991
    north = Word("Northgate", (0.633, 0.901, 0.720, 0.911), 0.60, 1, 69)
    pedi = Word("Pediatrics", (0.733, 0.901, 0.827, 0.909), 0.60, 1, 69)
    street = Word("578", (0.635, 0.913, 0.661, 0.922), 0.96, 1, 70)
    far = Word("WERE", (0.50, 0.901, 0.53, 0.909), 0.90, 1, 69)  # another box's words, a column away
    assert cut_by_region([Line((north, pedi)), Line((street,))], [Line((pedi,))], (pedi,))
    assert not cut_by_region([Line((north, pedi))], [Line((north, pedi))], (north, pedi))
    assert not cut_by_region([Line((far, pedi))], [Line((pedi,))], (pedi,))
    assert not cut_by_region([Line((pedi,)), Line((street,))], [Line((pedi,))], (pedi,))
    # the box on the left: box 3's `F` checkbox 3.3 heights before box 4's insured name (seed 23 full 016)
    sex = Word("F[-]", (0.569, 0.161, 0.600, 0.176), 0.20, 30, 1)
    name = (
        Word("Patel,", (0.633, 0.163, 0.668, 0.173), 0.74, 30, 1),
        Word("Linda", (0.678, 0.163, 0.718, 0.173), 0.92, 30, 1),
    )
    assert not cut_by_region([Line((sex, *name))], [Line(name)], name)


def test_a_row_cut_by_the_regions_edge_or_split_by_the_line_builder_is_mended() -> None:
    from claimflow.extract import mend_rows

    summit = Word("Summit", (0.6326, 0.9008, 0.6893, 0.9101), 0.94, 1, 1)
    rest = Word("Orthopedics", (0.7004, 0.9007, 0.8071, 0.9116), 0.60, 1, 63)
    street = Word("8154", (0.633, 0.914, 0.669, 0.9225), 0.96, 1, 64)
    far = Word("Tulsa", (0.85, 0.9008, 0.89, 0.9101), 0.96, 1, 63)  # a column away
    mended = mend_rows([Line((summit, rest, far)), Line((street,))], [Line((summit,)), Line((street,))])
    assert [line.text for line in mended] == ["Summit Orthopedics", "8154"]
    mended = mend_rows([Line((summit,)), Line((rest,))], [Line((summit,)), Line((rest,))])
    assert [line.text for line in mended] == ["Summit Orthopedics"]

    # a caption read twice (the page's, a closer reading's): the words of the line holding the caption's label stay
    # on it, never mended onto the other reading's line (seed 22 full 009 degraded: `Mame, Middie` taken as a name)
    label = Word("NAME", (0.6855, 0.1463, 0.7082, 0.1593), 0.9, 1, 1)
    garbled = (Word("(Last", (0.7122, 0.1463, 0.7365, 0.1593), 0.9, 1, 1),
               Word("Name.", (0.7416, 0.1463, 0.7675, 0.1593), 0.9, 1, 1),
               Word("First", (0.7702, 0.1499, 0.7898, 0.1563), 0.9, 1, 1),
               Word("Mame,", (0.7929, 0.1505, 0.8208, 0.1563), 0.9, 1, 1),
               Word("Middie", (0.8259, 0.1463, 0.8529, 0.1593), 0.9, 1, 1))  # fmt: skip
    again = Word("ANSURED'S", (0.6257, 0.1484, 0.7112, 0.1625), 0.5, 2, 1)
    caption, other = Line((label, *garbled)), Line((again,))
    taken = mend_rows([caption, other], [caption, other])  # without labels: the loss
    assert [line.text for line in taken] == ["NAME", "ANSURED'S (Last Name. First Mame, Middie"]
    mended = mend_rows([caption, other], [caption, other], {id(label)})
    assert [line.text for line in mended] == ["NAME (Last Name. First Mame, Middie", "ANSURED'S"]


def _exhaustive_hits(lines: list[Line], target: str, threshold: float) -> list[tuple[int, int, int, float]]:
    """Return the best run per line of every line, each line searched (no rule-out of lines)."""
    found = [(index, _line_hit(line.texts, target, threshold)) for index, line in enumerate(lines)]
    return [(index, *hit) for index, hit in found if hit is not None]


def test_lines_ruled_out_all_at_once_are_the_lines_ruled_out_one_by_one() -> None:
    rng = random.Random(11)
    for _ in range(300):
        texts = [tuple(rng.choice(WORDS) for _ in range(rng.randint(0, 7))) for _ in range(rng.randint(8, 30))]
        lines = [Line(tuple(Word(text, (0.0, 0.0, 0.1, 0.1), 0.9) for text in line)) for line in texts]
        target, threshold = rng.choice(LABELS), rng.choice([70.0, 80.0, 85.0, 88.0, 92.0, 98.0])
        kept = [index for index, line in enumerate(lines) if _may_hold(line.texts, target, threshold)]
        assert _lines_may_hold(lines, target, threshold) == kept, (texts, target, threshold)


def test_anchors_on_real_pages_are_those_of_searching_every_line() -> None:
    """Every label of every spec on the real text PDFs' pages: the anchors found with lines ruled out all at once
    (_lines_may_hold, pages of TABLE_LINES lines or more) are those of searching every line."""
    from claimflow.readers import read_document
    from claimflow.settings import PROJECT_ROOT
    from claimflow.sniff import sniff_file
    from claimflow.specs import load_specs

    folder = Path("/work/shared/realdocs/invoice2data")
    paths = sorted(folder.glob("*.pdf"))[:6] if folder.is_dir() else []
    if not paths:
        pytest.skip("the real documents are not on this machine")
    specs = load_specs(PROJECT_ROOT / "extractors")
    labels = sorted({simplify(a) for spec in specs.ordered() for f in spec.fields.values() for a in f.anchors})
    searched = 0
    for path in paths:
        read = read_document(path, sniff_file(path), None)  # text PDFs: no OCR
        for page in read.pages:
            lines = build_lines(page)
            if len(lines) < TABLE_LINES:
                continue
            for label in labels:
                for threshold in (80.0, 85.0, 88.0, 94.0):
                    hits = find_anchors(lines, label, threshold)
                    assert [(h.line_index, h.start, h.end, h.score) for h in hits] == _exhaustive_hits(
                        lines, simplify(label), threshold
                    ), (path.name, label, threshold)
                    searched += 1
    assert searched > 1000


def test_the_words_on_a_values_row_are_found_with_the_lines_off_the_row_skipped() -> None:
    from claimflow.extract import _row_words
    from claimflow.extract_layout import on_row

    rng = random.Random(5)
    for _ in range(200):
        lines = []
        for _ in range(rng.randint(1, 12)):
            top = rng.uniform(0.0, 0.95)
            words = []
            for i in range(rng.randint(1, 5)):
                y0 = top + rng.uniform(-0.01, 0.01)
                box = (0.1 * i, y0, 0.1 * i + 0.08, y0 + rng.uniform(0, 0.03))
                words.append(Word(rng.choice([*WORDS, "|", "-"]), box, 0.9))
            lines.append(Line(tuple(words)))
        line = rng.choice(lines)
        value = list(line.words[: rng.randint(1, len(line.words))])
        held = {id(word) for word in value if rng.random() < 0.5}
        top, bottom, row = _row_words(lines, value, held)
        every = [
            word
            for other in lines
            for word in other.words
            if id(word) not in held and any(ch.isalnum() for ch in word.text) and on_row(word, top, bottom)
        ]
        assert row == every


def _hit_by_joining(texts: tuple[str, ...], target: str, threshold: float) -> tuple[int, int, float] | None:
    """_line_hit's runs of words measured by joining each run (as before _line_runs), without the rule-outs."""
    simple = [simplify(text) for text in texts]
    size, best = len(target.split()), None
    for start in range(len(simple)):
        for end in range(start + max(1, size - 1), min(start + size + 2, len(simple) + 1)):
            if not any(ch.isalnum() for ch in simple[start]) or not any(ch.isalnum() for ch in simple[end - 1]):
                continue
            if any(ch.isdigit() and ch not in target for part in simple[start:end] for ch in part):
                continue
            score = fuzz.ratio(" ".join(part for part in simple[start:end] if part), target, score_cutoff=threshold)
            if score >= threshold and (best is None or score > best[2]):
                best = (start, end, score)
    return best


def test_a_lines_best_run_is_the_one_found_by_joining_every_run() -> None:
    rng = random.Random(13)
    words = [*WORDS, "_|", "|", "", "a/b", "2026", "No.1"]
    for _ in range(4000):
        texts = tuple(rng.choice(words) for _ in range(rng.randint(0, 8)))
        target, threshold = rng.choice(LABELS), rng.choice([60.0, 70.0, 80.0, 85.0, 88.0, 94.0, 100.0])
        found = _line_hit(texts, target, threshold)
        joined = _hit_by_joining(texts, target, threshold)
        if found != joined:  # only a letter-spaced label (_spaced_hit) may do better than the runs
            assert found is not None and (joined is None or found[2] > joined[2]), (texts, target, threshold)


def test_a_skewed_label_takes_the_words_the_recognizer_read_on_its_own_line() -> None:
    # full seed 26 motor 002 rotated (tilted down to the right): `Amount claimed:` (OCR line 9) took the
    # registration's `6519` (line 8), nearer the label than its own `493.98` (line 9), at 0.987 calibrated
    from claimflow.extract_layout import AnchorHit, words_skewed_right

    amount = Word("Amount", (0.10, 0.328, 0.19, 0.346), 0.96, 1, 9)
    claimed = Word("claimed:", (0.20, 0.332, 0.30, 0.350), 0.96, 1, 9)
    above = (
        Word("HH-BG", (0.40, 0.315, 0.47, 0.328), 0.96, 1, 8),
        Word("6519", (0.60, 0.320, 0.65, 0.331), 0.96, 1, 8),
    )
    own = Word("493.98", (0.31, 0.349, 0.39, 0.362), 0.96, 1, 9)
    lines = [Line(above), Line((amount, claimed)), Line((own,))]
    hit = AnchorHit(1, 0, 2, 100.0, (0.10, 0.328, 0.30, 0.350))
    assert [w.text for line in words_skewed_right(lines, hit) for w in line.words] == ["493.98"]
    # without the recognizer's line (a text layer, or another OCR line): the nearest line, as before
    other = Word("493.98", (0.31, 0.349, 0.39, 0.362), 0.96, 1, 10)
    lines = [Line(above), Line((amount, claimed)), Line((other,))]
    assert [w.text for line in words_skewed_right(lines, hit) for w in line.words] == ["HH-BG", "6519"]


def test_a_word_of_the_values_ocr_line_before_it_set_on_a_line_of_its_own_says_the_value_may_be_cut() -> None:
    # full seed 26 motor 007 degraded: `CLM-2026-1` `32007` (split at a 1's side bearing), the tall smudged piece
    # set on a line of its own: `32007` was taken at 0.997 calibrated
    from claimflow.extract import left_out

    page = Page(1, 1240, 1754, ReadMethod.OCR, [])
    label = (
        Word("Claim", (0.09, 0.186, 0.15, 0.196), 0.96, 1, 4),
        Word("number:", (0.16, 0.187, 0.25, 0.196), 0.96, 1, 4),
    )
    piece = Word("CLM-2026-1", (0.40, 0.171, 0.52, 0.201), 0.96, 1, 4)
    value = Word("32007", (0.53, 0.186, 0.59, 0.196), 0.96, 1, 4)
    labels = {id(w) for w in label}
    lines = [Line((piece,)), Line((*label, value))]
    assert left_out(lines, [Line((value,))], (value,), labels, page)
    # the whole code read on the label's line, or the piece on another OCR line, or far away: nothing said
    assert not left_out([Line((*label, piece, value))], [Line((piece, value))], (piece, value), labels, page)
    elsewhere = Word("CLM-2026-1", (0.40, 0.171, 0.52, 0.201), 0.96, 1, 3)
    assert not left_out([Line((elsewhere,)), Line((*label, value))], [Line((value,))], (value,), labels, page)
    far = Word("CLM-2026-1", (0.10, 0.171, 0.22, 0.201), 0.96, 1, 4)
    assert not left_out([Line((far,)), Line((*label, value))], [Line((value,))], (value,), labels, page)
