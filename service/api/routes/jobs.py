"""Batches of uploads, ingested in the background: 202 with a job id, then its progress."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile

from index.queue import DONE, JobReport

from ...core import too_large
from ..deps import DENIED, KoshqonDep, Librarian, Reader
from ..schemas import FileResult, JobStatus, Problem
from .documents import ERRORS, MetadataForm, upload_name

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Reader], responses=DENIED)


def status(job: JobReport) -> JobStatus:
    results = [
        FileResult(filename=f.filename, status=f.state, reason=f.reason, document_id=f.document_id)
        for f in job.files
        if f.state in DONE
    ]
    return JobStatus(
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
    "", status_code=202, response_model=JobStatus, responses=ERRORS, dependencies=[Librarian]
)
def submit_job(
    request: Request, koshqon: KoshqonDep, files: list[UploadFile], metadata: MetadataForm
) -> JobStatus:
    """Queue several files (the same metadata for all); they are added one after another in
    the background, and the queue survives a restart. Poll GET /jobs/{id} for progress and
    each file's outcome."""
    for file in files:  # each file within the limit of one; the request within a job's
        if file.size is not None and file.size > koshqon.settings.max_upload_bytes:
            raise too_large(f"{upload_name(file)} is larger", koshqon.settings)
    uploads = [(upload_name(f), f.file) for f in files]
    return status(request.app.state.jobs.submit(uploads, metadata))


@router.get(
    "/{job_id}",
    response_model=JobStatus,
    responses={404: {"model": Problem, "description": "No such job, or its report expired"}},
)
def get_job(request: Request, job_id: str) -> JobStatus:
    return status(request.app.state.jobs.get(job_id))
