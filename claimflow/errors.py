"""The ClaimFlow error tree, the stable reason codes and the CLI exit codes.

Exceptions mean "this document (or this start-up) cannot go on"; problems with the data itself are
values (`models.Problem`) that route a claim to review. Every error carries a `reason_code` that is
stored and an `exit_code` that the CLI returns, both stable interfaces (docs/reason-codes.md, docs/cli.md).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """Process exit codes of the `claimflow` CLI; a stable interface for schedulers."""

    OK = 0
    USAGE = 1
    BAD_DOCUMENT = 2
    EXTRACTION_FAILED = 3
    MISSING_DEPENDENCY = 4
    BAD_RULESET = 5
    BAD_CONFIG = 6
    UNEXPECTED = 70
    TRANSIENT = 75


class ReasonCode(StrEnum):
    """Stable snake_case reason codes; stored in the database, so values are never renamed."""

    # intake / quarantine
    EMPTY_FILE = "empty_file"
    UNSUPPORTED_TYPE = "unsupported_type"
    EXTENSION_MISMATCH = "extension_mismatch"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_CORRUPT = "pdf_corrupt"
    PDF_NO_PAGES = "pdf_no_pages"
    IMAGE_CORRUPT = "image_corrupt"
    SPREADSHEET_CORRUPT = "spreadsheet_corrupt"
    SPREADSHEET_ENCRYPTED = "spreadsheet_encrypted"
    TEXT_ENCODING = "text_encoding"
    DUPLICATE_DOCUMENT = "duplicate_document"
    FILE_NOT_STABLE = "file_not_stable"
    # reading
    OCR_FAILED = "ocr_failed"
    OCR_TIMEOUT = "ocr_timeout"
    OCR_LOW_CONFIDENCE = "ocr_low_confidence"
    PAGE_BLANK = "page_blank"
    PAGE_ROTATED = "page_rotated"
    PAGE_ORIENTATION_UNCERTAIN = "page_orientation_uncertain"
    PAGE_IMAGE_REGION = "page_image_region"
    FORMULA_WITHOUT_VALUE = "formula_without_value"
    # extraction
    UNKNOWN_DOCUMENT_TYPE = "unknown_document_type"
    FIELD_MISSING = "field_missing"
    FIELD_LOW_CONFIDENCE = "field_low_confidence"
    FIELD_INVALID = "field_invalid"
    FIELD_AMBIGUOUS = "field_ambiguous"
    EXTRACTION_ERROR = "extraction_error"
    # claims and policies
    POLICY_NOT_FOUND = "policy_not_found"
    POLICY_INACTIVE = "policy_inactive"
    LOSS_OUTSIDE_COVER = "loss_outside_cover"
    LOSS_NOT_COVERED = "loss_not_covered"
    WAITING_PERIOD = "waiting_period"
    POLICY_DATA_MISSING = "policy_data_missing"
    AMOUNT_BELOW_DEDUCTIBLE = "amount_below_deductible"
    AMOUNT_OVER_LIMIT = "amount_over_limit"
    CURRENCY_MISMATCH = "currency_mismatch"
    DOCUMENTS_MISSING = "documents_missing"
    DUPLICATE_CLAIM = "duplicate_claim"
    NEAR_DUPLICATE = "near_duplicate"
    AMOUNTS_INCONSISTENT = "amounts_inconsistent"
    RULE_ERROR = "rule_error"
    PAYOUT_GUARDRAIL = "payout_guardrail"
    NO_RULE_MATCHED = "no_rule_matched"
    # review selection beyond the rules
    QA_SAMPLE = "qa_sample"
    AMOUNT_OUTLIER = "amount_outlier"
    AUTHORITY_LIMIT = "authority_limit"
    HIGH_RISK = "high_risk"
    UNEXPECTED_ERROR = "unexpected_error"
    # operations: reminders, escalation, payments
    DOCUMENTS_OVERDUE = "documents_overdue"
    REVIEW_SLA_BREACHED = "review_sla_breached"
    PAYMENT_HELD = "payment_held"


class ClaimFlowError(Exception):
    """Base of every error the engine raises on purpose."""

    reason_code: ReasonCode = ReasonCode.UNEXPECTED_ERROR
    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, reason_code: ReasonCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason_code is not None:
            self.reason_code = reason_code


class NotFoundError(ClaimFlowError):
    """A claim or review task named on the command line does not exist."""

    exit_code = ExitCode.USAGE


class DocumentError(ClaimFlowError):
    """A document cannot be read at all (empty, encrypted, corrupt, unsupported); it is quarantined."""

    exit_code = ExitCode.BAD_DOCUMENT


class ExtractionError(ClaimFlowError):
    """Reading or extraction failed unexpectedly for a readable document; the document goes to review."""

    reason_code = ReasonCode.EXTRACTION_ERROR
    exit_code = ExitCode.EXTRACTION_FAILED


class SpecError(ClaimFlowError):
    """An extractor spec or rule set is invalid; start-up stops with file:line and the fix."""

    exit_code = ExitCode.BAD_RULESET

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class RuleSetError(SpecError):
    """A rule set (YAML or decision table) is invalid or its examples fail."""


class ConfigError(ClaimFlowError):
    """A setting is invalid (bad path, bad database URL, bad threshold)."""

    exit_code = ExitCode.BAD_CONFIG


class DependencyError(ClaimFlowError):
    """A required external program is missing (tesseract, a language pack)."""

    exit_code = ExitCode.MISSING_DEPENDENCY


class TransientError(ClaimFlowError):
    """A temporary condition (locked database, busy file); retrying later may succeed."""

    exit_code = ExitCode.TRANSIENT
