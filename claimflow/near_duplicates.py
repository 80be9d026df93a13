"""Re-scans of a page already seen: MinHash signatures of a page's words, stored per page, with LSH band keys.

A page's text is lower-cased and cut into word 3-shingles; 128 MinHash values estimate the Jaccard
similarity of two pages' shingle sets, and 32 band keys (4 values each) find candidate pages by an
indexed lookup instead of comparing with every stored page. A re-render of the same claim form at another
resolution, skew or noise level scores 0.9-1.0 (measured on the generated motor form: 150/200/300 dpi,
-1.2..2 degree skew, noise, JPEG 60: 0.94-1.0); two different claims on the same printed form score about
0.2 (the labels are shared, the values are not). Pages with fewer than `MIN_SHINGLES` shingles (blank,
a stamp) are not fingerprinted: too little text to tell.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from claimflow.models import Page

NUM_HASHES = 128
BAND_ROWS = 4
SHINGLE_WORDS = 3
MIN_SHINGLES = 20
SIMILAR = 0.70
"""Estimated Jaccard similarity from which a page counts as a re-scan of another.

Measured on the generated motor form: a re-scan scores 0.94-1.0; a re-scan with the claim number and the amount
changed and the title line lost by OCR 0.79; different claims on the same printed form 0.14-0.22.
"""

_PRIME = (1 << 61) - 1
_WORD = re.compile(r"[^\W_]+")


def _coefficients() -> tuple[tuple[int, int], ...]:
    """Return fixed (a, b) pairs for the hash family h(x) = (a*x + b) mod p; fixed so signatures stay comparable."""
    pairs = []
    for i in range(NUM_HASHES):
        digest = hashlib.blake2b(f"claimflow-minhash-{i}".encode(), digest_size=16).digest()
        a = int.from_bytes(digest[:8], "big") % (_PRIME - 1) + 1
        b = int.from_bytes(digest[8:], "big") % _PRIME
        pairs.append((a, b))
    return tuple(pairs)


_COEFFICIENTS = _coefficients()


@dataclass(frozen=True, slots=True)
class PageSignature:
    """The fingerprint of one page: how many shingles it had, its MinHash values and band keys."""

    page: int
    shingles: int
    minhash: tuple[int, ...]

    @property
    def bands(self) -> tuple[str, ...]:
        """Return the LSH band keys ("band:hash"); two pages sharing one are compared."""
        keys = []
        for band in range(NUM_HASHES // BAND_ROWS):
            chunk = self.minhash[band * BAND_ROWS : (band + 1) * BAND_ROWS]
            digest = hashlib.blake2b(",".join(map(str, chunk)).encode(), digest_size=8).hexdigest()
            keys.append(f"{band}:{digest}")
        return tuple(keys)


def page_shingles(text: str) -> set[int]:
    """Return the hashed word 3-shingles of a page's text (case and punctuation ignored)."""
    words = _WORD.findall(text.lower())
    shingles = set()
    for i in range(len(words) - SHINGLE_WORDS + 1):
        joined = " ".join(words[i : i + SHINGLE_WORDS]).encode()
        shingles.add(int.from_bytes(hashlib.blake2b(joined, digest_size=8).digest(), "big") % _PRIME)
    return shingles


def page_signature(page: int, text: str) -> PageSignature | None:
    """Return the signature of a page, or None when it has too little text to fingerprint."""
    shingles = page_shingles(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = tuple(min((a * x + b) % _PRIME for x in shingles) for a, b in _COEFFICIENTS)
    return PageSignature(page, len(shingles), minhash)


def similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """Return the estimated Jaccard similarity of two pages from their MinHash values."""
    if len(first) != len(second) or not first:
        return 0.0
    return sum(1 for x, y in zip(first, second, strict=True) if x == y) / len(first)


def page_signatures(pages: Sequence[Page]) -> list[PageSignature]:
    """Return the signatures of the pages that carry enough text."""
    return [sig for page in pages if (sig := page_signature(page.number, page.text)) is not None]
