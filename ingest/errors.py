"""Errors a user can act on. The CLI turns them into messages, the API into problem details
with the HTTP status it gives each kind (service/api/app.py)."""


class KoshqonError(Exception):
    """Base of every error that carries a reason a person can understand."""

    title = "Bad request"


class UnsupportedFileType(KoshqonError):
    title = "Unsupported file type"


class UnreadableFile(KoshqonError):
    title = "Unreadable file"


class FileTooLarge(KoshqonError):
    title = "File too large"


class DocumentNotFound(KoshqonError):
    title = "Document not found"


class StorageFull(KoshqonError):
    title = "Cannot store the file"


class PageNotFound(DocumentNotFound):
    title = "Page not found"


class DuplicateContent(KoshqonError):
    title = "Content already in the collection"


class ModelMismatch(KoshqonError):
    title = "Index built with another model"


class InvalidParameter(KoshqonError):
    title = "Invalid request"


class NotSignedIn(KoshqonError):
    title = "Authentication required"


class NotAllowed(KoshqonError):
    title = "Not allowed"


class KeyNotFound(KoshqonError):
    title = "Key not found"


class TooDemanding(KoshqonError):
    title = "File too demanding to read"


class TooManyAttempts(KoshqonError):
    """Too many failed keys from one address; ``retry_after`` seconds to wait."""

    title = "Too many failed attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
