"""Sample packet generator: a deterministic, seeded inbox packet of claim documents with ground truth.

`write_packet(out_dir, seed=7)` writes out_dir/packet/** (documents to drop into the inbox) and
out_dir/truth/** (one JSON per document plus expected_claims.json). This package is a generator, not part of
the engine: it may use fpdf2, reportlab, PIL, numpy, openpyxl, pypdfium2 and pypdf directly.
"""

from __future__ import annotations

from claimflow.samples.packet import PacketSummary, write_packet

__all__ = ["PacketSummary", "write_packet"]
