"""The HTTP status of each kind of domain error (the errors themselves know nothing of
HTTP: ingest/errors.py)."""

from __future__ import annotations

from index.queue import NothingToRetry
from index.store import Switching
from ingest.errors import (
    DocumentNotFound,
    DuplicateContent,
    FileTooLarge,
    InvalidParameter,
    KeyNotFound,
    KoshqonError,
    ModelMismatch,
    NotAllowed,
    NotSignedIn,
    StorageFull,
    TooDemanding,
    TooManyAttempts,
    UnsupportedFileType,
)

from ..jobs import JobNotFound

HTTP_STATUS = {  # the most specific class of an error decides
    Switching: 503,
    TooManyAttempts: 429,
    NothingToRetry: 409,
    JobNotFound: 404,
    KeyNotFound: 404,
    NotSignedIn: 401,
    NotAllowed: 403,
    UnsupportedFileType: 415,
    FileTooLarge: 413,
    TooDemanding: 422,
    DocumentNotFound: 404,
    DuplicateContent: 409,
    StorageFull: 507,
    ModelMismatch: 409,
    InvalidParameter: 422,
    KoshqonError: 400,
}


def in_words(errors: list[dict]) -> str:
    """Pydantic's validation errors as one line: "per_file.0.year: Input should be …"."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)


def http_status(error: KoshqonError) -> int:
    return next(HTTP_STATUS[kind] for kind in type(error).__mro__ if kind in HTTP_STATUS)
