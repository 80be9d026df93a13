"""Regenerate claimflow/data/icd10cm_codes.txt.gz: the billable ICD-10-CM codes, the set diagnosis codes are checked
against (claimflow/icd10cm.py).

Input: a list of ICD-10-CM codes, one per line, the code first (with or without its dot, any text after a space
ignored): the CDC/NCHS `icd10cm-codes-YYYY.txt` or `icd10cm-order-YYYY.txt` files, or the code list the PyPI
package `simple-icd-10-cm` ships (`simple_icd_10_cm/data/code-list-*.txt`: chapters, blocks, categories and every
code). ICD-10-CM is published by the CDC's National Center for Health Statistics and is in the public domain.
A code is billable (valid on a claim) when no longer code of the list starts with it: headers (`J02`, `S02.9`)
are dropped, so a list of headers and codes and a list of billable codes give the same file.

Output: one line per three-character category, the category then the rest of each billable code under it
(`J02 0 8 9`; `I10` alone when the category is itself the code), gzip-compressed without a timestamp, so the
same input always gives the same bytes.

    pip download --no-deps -d /tmp/icd simple-icd-10-cm && unzip -o -q /tmp/icd/*.whl -d /tmp/icd
    uv run python scripts/icd10cm_codes.py /tmp/icd/simple_icd_10_cm/data/code-list-*.txt
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from itertools import groupby
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "claimflow" / "data" / "icd10cm_codes.txt.gz"
CODE = re.compile(r"[A-Z]\d[0-9A-Z][0-9A-Z]{0,4}")


def billable(lines: list[str]) -> list[str]:
    """Return the sorted billable codes (without dots) of a code list: those no other listed code extends."""
    codes = sorted({c for line in lines if (c := line.split()[0].replace(".", "") if line.split() else "")
                    and CODE.fullmatch(c)})
    return [c for i, c in enumerate(codes) if not (i + 1 < len(codes) and codes[i + 1].startswith(c))]


def encode(codes: list[str]) -> bytes:
    """Return the grouped text (`J02 0 8 9`), gzip-compressed deterministically."""
    lines = [" ".join([key, *(c[3:] for c in group if len(c) > 3)])
             for key, group in groupby(codes, key=lambda c: c[:3])]
    return gzip.compress(("\n".join(lines) + "\n").encode("ascii"), compresslevel=9, mtime=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="ICD-10-CM code list, one code per line")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    codes = billable(args.source.read_text(encoding="utf-8", errors="replace").splitlines())
    args.out.write_bytes(encode(codes))
    print(f"{len(codes)} billable codes -> {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
