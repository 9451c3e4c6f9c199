"""Batches of uploads, ingested in the background: 202 with a job id, then its progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from pydantic import TypeAdapter, ValidationError

from index.queue import DONE, JobReport
from ingest.errors import InvalidParameter, StorageFull
from ingest.models import Metadata

from ...core import merge, too_large, validated
from ..deps import DENIED, KoshqonDep, Librarian, Reader
from ..errors import in_words
from ..schemas import (
    DocumentUpdate,
    FileProgress,
    FileResult,
    JobList,
    JobStatus,
    JobSummary,
    Problem,
)
from .documents import ERRORS, MetadataForm, upload_name

PER_FILE = TypeAdapter(list[DocumentUpdate])
router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Reader], responses=DENIED)


def status(job: JobReport) -> JobStatus:
    results = [
        FileResult(
            filename=f.filename,
            status=f.state,
            reason=f.reason,
            document_id=f.document_id,
            attempts=f.attempts,
        )
        for f in job.files
        if f.state in DONE
    ]
    running = [f for f in job.files if f.state == "running" and f.progress]
    current = (
        FileProgress(filename=running[0].filename, runner=running[0].worker, **running[0].progress)
        if running
        else None
    )
    return JobStatus(
        current=current,
        eta_seconds=job.eta_seconds,
        id=job.id,
        state=job.state,
        created_at=job.created_at,
        finished_at=job.finished_at,
        total=len(job.files),
        done=len(results),
        failed=sum(r.status == "failed" for r in results),
        results=results,
    )


@router.post(
    "",
    status_code=202,
    response_model=JobStatus,
    responses={**ERRORS, 507: {"model": Problem, "description": "No room to store the files"}},
    dependencies=[Librarian],
)
def submit_job(
    request: Request,
    koshqon: KoshqonDep,
    files: list[UploadFile],
    metadata: MetadataForm,
    per_file: Annotated[
        str | None,
        Form(
            description="A JSON list with one object of metadata per file, in order (title, "
            "author, year, doc_type, source_url, language, work); its fields override the "
            "form's, which apply to every file."
        ),
    ] = None,
) -> JobStatus:
    """Queue several files; they are added one after another in the background, and the
    queue survives a restart. Poll GET /jobs/{id} for progress and each file's outcome."""
    for file in files:  # each file within the limit of one; the request within a job's
        if file.size is not None and file.size > koshqon.settings.max_upload_bytes:
            raise too_large(f"{upload_name(file)} is larger", koshqon.settings)
    own = each_files_metadata(per_file, len(files))
    metadata = validated(metadata)
    uploads = [
        (upload_name(f), f.file, merge(metadata, m)) for f, m in zip(files, own, strict=True)
    ]
    try:
        return status(request.app.state.jobs.submit(uploads))
    except OSError as error:  # the disk is full, say: nothing was queued
        raise StorageFull(f"the files could not be stored ({error.strerror})") from error


def each_files_metadata(per_file: str | None, files: int) -> list[Metadata | None]:
    if per_file is None:
        return [None] * files
    try:
        given = PER_FILE.validate_json(per_file)
    except ValidationError as error:
        raise InvalidParameter(f"per_file: {in_words(error.errors())}") from None
    if len(given) != files:
        raise InvalidParameter(f"per_file: {len(given)} objects for {files} files")
    return [validated(Metadata(**m.model_dump(exclude_none=True))) for m in given]


@router.get("", response_model=JobList)
def list_jobs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, latest first.")] = 50,
) -> JobList:
    """The latest jobs, each with its files counted (until their reports expire)."""
    summaries = request.app.state.jobs.queue.jobs(limit)
    return JobList(
        jobs=[
            JobSummary(**{name: getattr(job, name) for name in JobSummary.model_fields})
            for job in summaries
        ]
    )


@router.get(
    "/{job_id}",
    response_model=JobStatus,
    responses={404: {"model": Problem, "description": "No such job, or its report expired"}},
)
def get_job(request: Request, job_id: str) -> JobStatus:
    return status(request.app.state.jobs.get(job_id))


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobStatus,
    dependencies=[Librarian],
    responses={
        404: {"model": Problem, "description": "No such job, or its report expired"},
        409: {"model": Problem, "description": "No failed file of the job can be retried"},
    },
)
def retry_job(request: Request, job_id: str) -> JobStatus:
    """Queue the job's failed files again, kept until its report expires (a file that
    failed because a limit was too low, say, once the limit is raised)."""
    return status(request.app.state.jobs.retry(job_id))
