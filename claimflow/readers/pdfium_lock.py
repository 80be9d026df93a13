"""One process-wide lock around every pdfium call.

pdfium is not thread-safe, not even across different documents (pypdfium2's documentation: concurrent calls
may crash the process). The engine reads documents on a thread pool and the review workstation renders page
images on another, so every pdfium call in the package (open, page count, render, close) takes this lock.
Rendering a page is a small part of a scanned page's time (OCR runs outside the lock), so the cost is low.
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
