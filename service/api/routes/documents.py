from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Response, UploadFile
from fastapi.responses import StreamingResponse

from ingest.models import DOC_TYPES, Metadata

from ...citations import Cited, export
from ...config import Settings
from ...core import too_large
from ..deps import DENIED, KoshqonDep, Librarian, Reader
from ..schemas import (
    Document,
    DocumentAdded,
    DocumentDetail,
    DocumentId,
    DocumentList,
    DocumentUpdate,
    PageText,
    Passage,
    Problem,
)
from .search import EXPORTED, FormatQuery, download

router = APIRouter(prefix="/documents", tags=["documents"], dependencies=[Reader], responses=DENIED)
NOT_FOUND = {**DENIED, 404: {"model": Problem, "description": "No such document"}}
ERRORS = {
    **DENIED,
    400: {"model": Problem, "description": "Unreadable file (empty, damaged, encrypted)"},
    413: {"model": Problem, "description": "File larger than KOSHQON_MAX_UPLOAD_MB"},
    415: {"model": Problem, "description": "Unsupported file type"},
    422: {"model": Problem, "description": "Invalid parameters"},
}


def upload_name(file: UploadFile) -> str:
    """The file's own name, without folders or control characters: "../x.pdf" is x.pdf,
    "..", "." or a name of NULs is "upload" (then refused for its missing type)."""
    name = "".join(c for c in file.filename or "" if c.isprintable()).replace("\\", "/")
    name = name.rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else "upload"


def read_upload(file: UploadFile, settings: Settings) -> bytes:
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise too_large(f"{file.filename} is larger", settings)
    return data


def metadata_form(
    title: Annotated[str | None, Form()] = None,
    author: Annotated[str | None, Form()] = None,
    year: Annotated[int | None, Form(ge=0, le=2100)] = None,
    doc_type: Annotated[str | None, Form(description=", ".join(DOC_TYPES))] = None,
    source_url: Annotated[str | None, Form()] = None,
    language: Annotated[str | None, Form(pattern=r"^[a-z]{2,3}$")] = None,
    work: Annotated[
        str | None, Form(description="Shared by the language versions of one text.")
    ] = None,
) -> Metadata:
    return Metadata(title, author, year, doc_type, source_url, language, work)


MetadataForm = Annotated[Metadata, Depends(metadata_form)]


@router.post(
    "",
    status_code=201,
    response_model=DocumentAdded,
    responses={200: {"model": DocumentAdded, "description": "Already in the collection"}, **ERRORS},
    dependencies=[Librarian],
)
def add_document(
    koshqon: KoshqonDep, response: Response, file: UploadFile, metadata: MetadataForm
) -> DocumentAdded:
    """Add a PDF, DOCX, HTML, TXT or Markdown file. The same content again returns the
    existing document with status "exists" (200) instead of adding it twice."""
    result = koshqon.add_file(read_upload(file, koshqon.settings), upload_name(file), metadata)
    if not result.created:
        response.status_code = 200
    return DocumentAdded(
        **Document.model_validate(result.document).model_dump(),
        status="created" if result.created else "exists",
    )


@router.put(
    "/{document_id}",
    response_model=DocumentAdded,
    responses={
        **NOT_FOUND,
        409: {"model": Problem, "description": "Another document's content"},
        **ERRORS,
    },
    dependencies=[Librarian],
)
def replace_document(
    koshqon: KoshqonDep, document_id: DocumentId, file: UploadFile, metadata: MetadataForm
) -> DocumentAdded:
    """A new version of a document: its passages are swapped in one step (searches see the
    old version or the new one, never both), its id and metadata are kept unless given.
    Status "unchanged" when the file is the one already stored."""
    data = read_upload(file, koshqon.settings)
    result = koshqon.replace_file(document_id, data, upload_name(file), metadata)
    return DocumentAdded(
        **Document.model_validate(result.document).model_dump(),
        status="replaced" if result.created else "unchanged",
    )


@router.get("", response_model=DocumentList)
def list_documents(koshqon: KoshqonDep) -> DocumentList:
    documents = [Document.model_validate(d) for d in koshqon.documents()]
    return DocumentList(total=len(documents), documents=documents)


@router.get(
    "/{document_id}/original",
    response_class=StreamingResponse,
    responses={**NOT_FOUND, 200: {"description": "The file as it was uploaded"}},
)
def get_original(koshqon: KoshqonDep, document_id: DocumentId) -> StreamingResponse:
    """The file the document was made from, as uploaded, with its type. A PDF opens in the
    browser (at a page with `#page=N`, as the citations' links do); any other file is a
    download, never a page of this site (an uploaded HTML page could run scripts here)."""
    document, pieces = koshqon.original(document_id)
    if document.media_type == "application/pdf":
        headers = {"Content-Security-Policy": "frame-ancestors 'self'"}
        headers["X-Frame-Options"] = "SAMEORIGIN"  # the browser's own viewer frames it
        disposition = "inline"
    else:
        headers = {"Content-Security-Policy": "sandbox; default-src 'none'"}
        disposition = "attachment"
    headers["Content-Disposition"] = f"{disposition}; filename*=utf-8''{quote(document.filename)}"
    return StreamingResponse(pieces, media_type=document.media_type, headers=headers)


@router.get("/{document_id}/citation", response_class=Response, responses={**NOT_FOUND, **EXPORTED})
def get_citation(
    koshqon: KoshqonDep, document_id: DocumentId, format: FormatQuery = "text"
) -> Response:
    """The document as a citation to take away: text in a citation style, BibTeX, RIS or
    CSV."""
    document = koshqon.record(document_id)
    return download(export([Cited(document)], format), format, f"koshqon-{document_id}")


@router.get(
    "/{document_id}/pages/{page}",
    response_model=PageText,
    responses={**NOT_FOUND, 404: {"model": Problem, "description": "No such document or page"}},
)
def get_page(
    koshqon: KoshqonDep, document_id: DocumentId, page: Annotated[int, Path(ge=1, le=100_000)]
) -> PageText:
    """The text of one page as the collection holds it: the PDF's text layer, or what OCR
    read from the page image; to compare a cited passage with its page."""
    document, text = koshqon.page(document_id, page)
    return PageText(
        document_id=document_id,
        page=page,
        text=text,
        ocr=page in document.ocr_pages,
        ocr_doubtful=page in document.ocr_doubtful,
        original=f"/documents/{document_id}/original#page={page}",
    )


@router.get(
    "/{document_id}",
    response_model=DocumentDetail,
    responses=NOT_FOUND,
)
def get_document(koshqon: KoshqonDep, document_id: DocumentId) -> DocumentDetail:
    """The document's metadata and all its passages, in order."""
    document, chunks = koshqon.document(document_id)
    return DocumentDetail(
        **Document.model_validate(document).model_dump(),
        passages=[Passage.model_validate(c) for c in chunks],
    )


@router.patch(
    "/{document_id}",
    response_model=Document,
    responses={**NOT_FOUND, 422: ERRORS[422]},
    dependencies=[Librarian],
)
def update_document(
    koshqon: KoshqonDep, document_id: DocumentId, changes: DocumentUpdate
) -> Document:
    """Edit a document's metadata: fields left out stay as they are, fields sent as null
    are emptied (author, year, source_url, work; the others cannot be). A new title is
    searchable at once (titles are part of keyword search) and appears in every citation
    label."""
    given = changes.model_dump(exclude_unset=True)
    cleared = tuple(name for name, value in given.items() if value is None)
    metadata = Metadata(**{name: value for name, value in given.items() if value is not None})
    return Document.model_validate(koshqon.update(document_id, metadata, cleared))


@router.delete(
    "/{document_id}",
    response_model=Document,
    responses=NOT_FOUND,
    dependencies=[Librarian],
)
def delete_document(koshqon: KoshqonDep, document_id: DocumentId) -> Document:
    """Remove the document from the catalog and the vector index; returns what was removed."""
    return Document.model_validate(koshqon.remove(document_id))
