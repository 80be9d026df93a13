"""Turn extracted fields and extractions into JSON-safe dicts and back, without losing types.

Stored form keeps a type tag so that a Decimal comes back a Decimal and a date a date; the public form
(`claimflow process --json`) is plain: money as a decimal string with its currency beside it, dates as ISO.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from claimflow.errors import ReasonCode
from claimflow.models import (
    Extraction,
    Field,
    FieldScalar,
    FieldValueType,
    Money,
    Page,
    Problem,
    Provenance,
    ReadDocument,
    ReadMethod,
    Word,
)


def scalar_to_json(value: FieldScalar | None) -> Any:
    """Return a tagged JSON form of one scalar value."""
    if value is None:
        return None
    if isinstance(value, Money):
        return {"$money": str(value.amount), "currency": value.currency}
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def scalar_from_json(data: Any) -> FieldScalar | None:
    """Invert `scalar_to_json`."""
    if isinstance(data, dict):
        if "$money" in data:
            return Money(Decimal(data["$money"]), data.get("currency"))
        if "$decimal" in data:
            return Decimal(data["$decimal"])
        if "$date" in data:
            return date.fromisoformat(data["$date"])
    return data  # type: ignore[no-any-return]


def value_to_json(value: FieldValueType) -> Any:
    """Return a tagged JSON form of a field value (scalar, list of text, or list of rows)."""
    if isinstance(value, list):
        return [
            {k: scalar_to_json(v) for k, v in item.items()} if isinstance(item, dict) else scalar_to_json(item)
            for item in value
        ]
    return scalar_to_json(value)


def value_from_json(data: Any) -> FieldValueType:
    """Invert `value_to_json`."""
    if isinstance(data, list):
        return [
            {k: scalar_from_json(v) for k, v in item.items()}
            if isinstance(item, dict) and not ({"$money", "$date", "$decimal"} & item.keys())
            else scalar_from_json(item)
            for item in data
        ]  # type: ignore[return-value]
    result = scalar_from_json(data)
    if result is None:
        raise ValueError("a stored field value is null")
    return result


def field_to_json(f: Field) -> dict[str, Any]:
    """Return the stored form of a field."""
    p = f.provenance
    return {
        "value": value_to_json(f.value),
        "confidence": round(f.confidence, 4),
        "raw": f.raw,
        "method": p.method.value,
        "page": p.page,
        "bbox": list(p.bbox) if p.bbox else None,
        "sheet": p.sheet,
        "row": p.row,
        "column": p.column,
    }


def field_from_json(name: str, data: dict[str, Any]) -> Field:
    """Invert `field_to_json`."""
    bbox = data.get("bbox")
    return Field(
        name=name,
        value=value_from_json(data["value"]),
        confidence=float(data["confidence"]),
        provenance=Provenance(
            method=ReadMethod(data["method"]),
            page=data.get("page"),
            bbox=(bbox[0], bbox[1], bbox[2], bbox[3]) if bbox else None,
            sheet=data.get("sheet"),
            row=data.get("row"),
            column=data.get("column"),
        ),
        raw=data.get("raw", ""),
    )


def extraction_to_json(ex: Extraction) -> dict[str, Any]:
    """Return the stored form of an extraction."""
    return {
        "document_type": ex.document_type,
        "type_confidence": ex.type_confidence,
        "fields": {name: field_to_json(f) for name, f in ex.fields.items()},
        "records": [{name: field_to_json(f) for name, f in rec.items()} for rec in ex.records],
        "problems": [problem_to_json(p) for p in ex.problems],
    }


def extraction_from_json(data: dict[str, Any]) -> Extraction:
    """Invert `extraction_to_json`."""
    return Extraction(
        document_type=data["document_type"],
        type_confidence=float(data["type_confidence"]),
        fields={name: field_from_json(name, f) for name, f in data["fields"].items()},
        records=[{name: field_from_json(name, f) for name, f in rec.items()} for rec in data["records"]],
        problems=[
            Problem(ReasonCode(p["code"]), p["message"], p.get("page"), p.get("field")) for p in data["problems"]
        ],
    )


def stored_extractions(data: dict[str, Any]) -> list[Extraction]:
    """Return the extractions stored for a document: one, or one per part of a split file."""
    if "parts" in data:
        return [extraction_from_json(part) for part in data["parts"]]
    return [extraction_from_json(data)]


def problem_to_json(p: Problem) -> dict[str, Any]:
    """Return a problem as a plain dict."""
    return {"code": p.code.value, "message": p.message, "page": p.page, "field": p.field}


def public_value(value: FieldValueType | None) -> Any:
    """Return a plain JSON value: money and decimals as strings, dates as ISO strings."""
    if isinstance(value, list):
        return [{k: public_value(v) for k, v in item.items()} if isinstance(item, dict) else item for item in value]
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def public_field(f: Field) -> dict[str, Any]:
    """Return the `--json` form of a field: value, confidence, page, bbox (plus sheet/row/column, currency)."""
    out: dict[str, Any] = {
        "value": public_value(f.value),
        "confidence": round(f.confidence, 4),
        "page": f.provenance.page,
        "bbox": [round(x, 4) for x in f.provenance.bbox] if f.provenance.bbox else None,
        "method": f.provenance.method.value,
    }
    if isinstance(f.value, Money):
        out["currency"] = f.value.currency
    if f.provenance.sheet is not None:
        out.update(sheet=f.provenance.sheet, row=f.provenance.row, column=f.provenance.column)
    return out


def read_to_json(read: ReadDocument) -> dict[str, Any]:
    """Return the pages of a read document (words with boxes) as plain data; sheets are not kept."""
    return {
        "pages": [
            {
                "number": page.number,
                "width": page.width,
                "height": page.height,
                "method": page.method.value,
                "words": [[w.text, list(w.bbox), round(w.confidence, 4), w.block, w.line] for w in page.words],
                **({"language": page.language} if page.language != "eng" else {}),
            }
            for page in read.pages
        ]
    }


def read_from_json(data: dict[str, Any]) -> ReadDocument:
    """Invert `read_to_json`."""
    return ReadDocument(
        pages=[
            Page(
                number=p["number"],
                width=p["width"],
                height=p["height"],
                method=ReadMethod(p["method"]),
                words=[Word(t, (b[0], b[1], b[2], b[3]), c, blk, ln) for t, b, c, blk, ln in p["words"]],
                language=p.get("language", "eng"),
            )
            for p in data["pages"]
        ]
    )
