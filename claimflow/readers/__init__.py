"""Readers: one module per library (pdf_text, ocr, spreadsheet)."""
