"""Typed request and response models: the OpenAPI page at /docs is the API reference."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from index.search import Mode

# ids are SQLite integers: a larger number is a 422, not an overflow deep in a query
DocumentId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Citation(Model):
    document_id: int
    title: str
    filename: str = Field(description="The file's own name as uploaded or ingested.")
    page_start: int | None = Field(description="1-based; null only for formats without pages.")
    page_end: int | None
    heading: str | None = Field(description='Structural path, e.g. "Глава 2 › Статья 10".')
    char_start: int = Field(description="Offset of the passage in the document's text.")
    char_end: int
    label: str = Field(description='Human-readable citation, e.g. "…, Article 10, p. 4".')
    ocr: bool = Field(
        description="The passage was read by OCR from a page image: check it against the page."
    )
    ocr_doubtful: bool = Field(
        description="OCR was unsure of this page (low confidence, or the wrong script found "
        "first): its text is likely misread, and it is ranked below every other match."
    )


class ParallelVersion(Model):
    chunk_id: int
    lang: str
    text: str = Field(description="The same place of the same article, in this language.")
    citation: Citation


class SearchHit(Model):
    rank: int
    score: float = Field(
        description="Hybrid: how many standard deviations the passage stands above the "
        "query's similarity to the passages of its language, plus keyword and "
        "same-language evidence (comparable across languages). Dense: cosine similarity. "
        "Keyword: BM25."
    )
    chunk_id: int
    text: str = Field(description="The exact passage, as stored in the catalog.")
    lang: str
    citation: Citation
    parallel: list[ParallelVersion] = Field(
        description="The passage's article in the document's other language versions."
    )


class AskRequest(Model):
    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=20, description="How many top passages serve as evidence.")
    lang: list[str] | None = Field(None, description="Only passages in these languages.")
    doc_id: list[DocumentId] | None = Field(None, description="Only these documents.")
    doc_type: list[str] | None = Field(None, description="Only these document types.")
    mode: Mode = Field("hybrid", description="How the evidence is searched.")


class AnswerCitation(Model):
    marker: int = Field(description="The [n] in the answer text.")
    chunk_id: int
    sentence: str = Field(description="The exact supporting text, as stored.")
    char_start: int = Field(description="Offset of the sentence in the document's text.")
    char_end: int
    lang: str
    citation: Citation = Field(description="The passage it comes from, as in /search.")


class AskResponse(Model):
    question: str
    status: Literal["answered", "not_found"] = Field(
        description='"not_found" when the evidence is too weak to answer from.'
    )
    answer: str = Field(description="Sentences with their markers [1], [2] …; empty if not found.")
    citations: list[AnswerCitation]
    evidence: list[SearchHit] = Field(description="The passages the answer was chosen from.")
    answerer: Literal["extractive", "generative"]
    took_ms: float


class CitedArticle(Model):
    """An article the query cites by number and code or law ("статья 517 КоАП")."""

    article: str
    code: str = Field(description="The code or law, in English: the Labour Code.")
    found: bool = Field(description="Whether the collection holds it; if so it is ranked first.")
    note: str = Field(description="What was found, in words.")


class SearchResponse(Model):
    query: str
    query_lang: str = Field(description="Detected language of the query: kk, ru, en or und.")
    mode: Mode = Field(description="hybrid, dense or keyword: how passages were ranked.")
    took_ms: float
    results: list[SearchHit]
    references: list[CitedArticle] = Field(
        description="Articles the query cites by number and code or law: found ones come "
        "first in the results, in the reader's language version when there is one."
    )
    no_match: bool = Field(
        description="Nothing found: the closest passage is no closer to the query than "
        "those of questions the collection cannot be about (weather, recipes, gibberish). "
        "The closest passages are still the results."
    )
    missing: list[str] = Field(
        description="The query's words that no passage of the collection has, in any "
        "language (stop-words aside): the results match the rest of the query, not these. "
        "Given only when the first result is in the query's language: across languages a "
        "question's words are not expected in the passage that answers it."
    )


class Document(Model):
    id: int
    title: str
    filename: str
    media_type: str
    author: str | None
    year: int | None
    doc_type: str
    source_url: str | None
    language: str
    languages: list[str]
    sha256: str
    added_at: str
    updated_at: str | None = Field(description="When the metadata was last edited.")
    page_count: int = Field(description="0 for formats without pages.")
    ocr_pages: list[int] = Field(
        description="Pages without a usable text layer, read from their image by OCR."
    )
    ocr_doubtful: list[int] = Field(
        description="OCR pages whose reading Tesseract was unsure of (likely misread)."
    )
    work: str | None = Field(
        description="Shared by the language versions of one text, whose articles are linked."
    )
    chunks: int = Field(description="Number of passages indexed.")


class DocumentUpdate(Model):
    """Metadata to change: fields left out stay as they are; null empties author, year,
    source_url or work (422 for the others)."""

    title: str | None = Field(None, min_length=1)
    author: str | None = None
    year: int | None = Field(None, ge=0, le=2100)
    doc_type: str | None = Field(None, description="law, study, report, article, guide, …")
    source_url: str | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")
    work: str | None = Field(
        None, description="A key shared by the language versions of one text, e.g. a law."
    )


class DocumentAdded(Document):
    status: Literal["created", "exists", "replaced", "unchanged"]


class Passage(Model):
    id: int
    ordinal: int
    text: str
    lang: str
    heading: str | None
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    tokens: int


class DocumentDetail(Document):
    passages: list[Passage]


class PageText(Model):
    document_id: int
    page: int
    text: str = Field(description="The page as the collection holds it, passages cut from it.")
    ocr: bool = Field(description="Read by OCR from the page image (no text layer).")
    ocr_doubtful: bool = Field(description="OCR was unsure of this page: compare the original.")
    original: str = Field(description="The original file, opened at this page.")


class DocumentList(Model):
    total: int
    documents: list[Document]


class FileResult(Model):
    filename: str
    status: Literal["added", "skipped", "failed"]
    reason: str | None = Field(description="Why a file was skipped or failed.")
    document_id: int | None
    attempts: int = Field(
        description="How many times a runner took it: more than 1 after a runner died in it."
    )


class FileProgress(Model):
    filename: str
    stage: Literal["reading", "encoding"] = Field(
        description="reading: pages read by OCR; encoding: passages turned into vectors."
    )
    done: int
    total: int
    eta_seconds: float | None = Field(description="Left of this stage, at its pace so far.")
    runner: str = Field(description="Who is adding it: host:process:tag of a worker or server.")


class JobStatus(Model):
    id: str
    state: Literal["queued", "running", "finished"]
    created_at: str
    finished_at: str | None = Field(
        description="When its last file was done; the report expires KOSHQON_JOB_REPORT_DAYS later."
    )
    total: int = Field(description="Files in the job.")
    done: int = Field(description="Files processed so far.")
    failed: int
    results: list[FileResult] = Field(description="One per file processed, in order.")
    current: FileProgress | None = Field(description="The file being added, and how far.")
    eta_seconds: float | None = Field(
        description="Seconds left: the bytes still queued at the pace of the files done, plus "
        "what is left of the file in hand; null until there is a pace to go by."
    )


class JobSummary(Model):
    id: str
    state: Literal["queued", "running", "finished"]
    created_at: str
    finished_at: str | None
    total: int = Field(description="Files in the job.")
    done: int = Field(description="Files processed so far.")
    failed: int = Field(description="Of them, failed: POST /jobs/{id}/retry queues them again.")


class JobList(Model):
    jobs: list[JobSummary] = Field(description="The latest first.")


class Health(Model):
    status: Literal["ok", "out of step", "switching"] = Field(
        description="out of step: an index does not hold exactly the catalog's passages; "
        "switching: the collection moved to a new generation (koshqon reindex) and this "
        "server is loading it, answering from the previous one meanwhile"
    )
    model_id: str = Field(description="The model of the passages searched.")
    dimension: int
    generation: int = Field(
        description="The generation of passages searched: each `koshqon reindex` makes one."
    )
    documents: int
    chunks: int = Field(description="Passages in the catalog.")
    dense_passages: int = Field(description="Passages in the dense (FAISS) indexes.")
    keyword_passages: int = Field(description="Passages in the keyword (BM25) indexes.")


class Problem(Model):
    """RFC 9457 problem details: every error says what went wrong in words."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict] | None = None


class KeyRequest(Model):
    name: str = Field(pattern=r"^[\w.@-]{1,64}$", description="Who holds the key.")
    role: Literal["reader", "librarian", "admin"] = Field(
        description="reader: read (when KOSHQON_PRIVATE); librarian: add, edit, delete; "
        "admin: manage keys too."
    )


class KeyInfo(Model):
    name: str
    role: Literal["reader", "librarian", "admin"]
    created_at: str


class KeyCreated(KeyInfo):
    key: str = Field(description="Send as `Authorization: Bearer KEY`. Shown this once only.")


class KeyList(Model):
    keys: list[KeyInfo]
