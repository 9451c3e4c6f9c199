"""Errors a user can act on. The CLI turns them into messages, the API into problem details."""


class KoshqonError(Exception):
    """Base of every error that carries a reason a person can understand."""

    status = 400
    title = "Bad request"


class UnsupportedFileType(KoshqonError):
    status = 415
    title = "Unsupported file type"


class UnreadableFile(KoshqonError):
    status = 400
    title = "Unreadable file"


class FileTooLarge(KoshqonError):
    status = 413
    title = "File too large"


class DocumentNotFound(KoshqonError):
    status = 404
    title = "Document not found"


class DuplicateContent(KoshqonError):
    status = 409
    title = "Content already in the collection"


class ModelMismatch(KoshqonError):
    status = 409
    title = "Index built with another model"


class InvalidParameter(KoshqonError):
    status = 422
    title = "Invalid request"
