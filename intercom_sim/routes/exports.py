"""Content data export.

POST /export/content/data, GET /export/content/data/{job}, POST /export/cancel/{job}, and
GET /download/content/data/{job} (a gzipped CSV of `EXPORT_CSV_COLUMNS`).

A job moves pending -> in_progress -> completed / no_data / failed on the wall clock, taking the
`export_delay_seconds` in force when it was created (a knob changed later moves only later jobs, as one real
job's run time is its own); one active job per workspace; a completed download expires after
`export_expiry_seconds`.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
from dataclasses import dataclass, field

from ..api import ApiError, Request, Response, SimParts, not_found, ok
from ..render import dumps
from ..workspace import JSON

EXPORT_CSV_COLUMNS = (
    "user_id",
    "user_external_id",
    "company_id",
    "email",
    "name",
    "ruleset_id",
    "content_id",
    "content_type",
    "content_title",
    "ruleset_version_id",
    "receipt_id",
    "received_at",
    "series_id",
    "series_title",
    "node_id",
    "first_reply",
    "first_completion",
    "first_series_completion",
    "first_series_disengagement",
    "first_series_exit",
    "first_goal_success",
    "first_open",
    "first_click",
    "first_dismisall",
    "first_unsubscribe",
    "first_hard_bounce",
)


@dataclass
class ExportJob:
    job_identifier: str
    created_at_after: int
    created_at_before: int
    created_wall: float
    duration: float
    final_status: str | None = None
    completed_wall: float | None = None
    rows: list[JSON] = field(default_factory=list)


class ExportRoutes(SimParts):
    """The content export endpoints and their jobs."""

    _exports: dict[str, ExportJob]  # job identifier -> job

    def create_export(self, req: Request) -> Response:
        body = req.json()
        try:
            after, before = int(body["created_at_after"]), int(body["created_at_before"])
        except KeyError as exc:
            raise ApiError(400, "parameter_not_found", f"{exc.args[0]} is required", exc.args[0]) from None
        except (TypeError, ValueError):
            raise ApiError(
                400, "parameter_invalid", "created_at_after/created_at_before must be integers"
            ) from None
        with self._state_lock:
            if any(self._export_status(job) in ("pending", "in_progress") for job in self._exports.values()):
                raise ApiError(
                    429, "rate_limit_exceeded", "Exceeded rate limit of 1 pending message data export jobs"
                )
            job_id = "".join(
                self._export_rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15)
            )
            job = ExportJob(job_id, after, before, time.monotonic(), self.knobs.export_delay_seconds)
            self._exports[job_id] = job
            return ok(dumps(self._export_json(job)))

    def _export_status(self, job: ExportJob) -> str:
        if job.final_status is not None:
            return job.final_status
        elapsed = time.monotonic() - job.created_wall
        if elapsed < job.duration / 2:
            return "pending"
        if elapsed < job.duration:
            return "in_progress"
        job.completed_wall = time.time()
        if self.knobs.export_fail:
            job.final_status = "failed"
            return job.final_status
        job.rows = [
            row
            for row in self.ws.export_rows
            if job.created_at_after <= row["received_at"] <= job.created_at_before
        ]
        job.final_status = "completed" if job.rows else "no_data"
        return job.final_status

    def _export_json(self, job: ExportJob) -> JSON:
        status = self._export_status(job)
        done = status == "completed" and job.completed_wall is not None
        return {
            "job_identifier": job.job_identifier,
            "status": status,
            "download_url": f"{self.base_url}/download/content/data/{job.job_identifier}" if done else "",
            "download_expires_at": str(int((job.completed_wall or 0) + self.knobs.export_expiry_seconds))
            if done
            else "",
        }

    def _export(self, job_id: str) -> ExportJob:
        job = self._exports.get(job_id)
        if job is None:
            raise not_found("not_found", "Export job not found")
        return job

    def get_export(self, req: Request) -> Response:
        with self._state_lock:
            return ok(dumps(self._export_json(self._export(req.params["job"]))))

    def cancel_export(self, req: Request) -> Response:
        with self._state_lock:
            job = self._export(req.params["job"])
            if self._export_status(job) in ("pending", "in_progress"):
                job.final_status = "canceled"
            return ok(dumps(self._export_json(job)))

    def download_export(self, req: Request) -> Response:
        with self._state_lock:
            job = self._export(req.params["job"])
            status = self._export_status(job)
        if status != "completed":
            raise not_found("not_found", f"Export job is {status}")
        if (
            job.completed_wall is not None
            and time.time() > job.completed_wall + self.knobs.export_expiry_seconds
        ):
            raise not_found("not_found", "Export has expired")
        return Response(
            200,
            _gzipped_csv(job.rows),
            "application/octet-stream",
            {"Content-Disposition": f'attachment; filename="{job.job_identifier}.csv.gz"'},
        )


def _gzipped_csv(rows: list[JSON]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(col) is None else row[col] for col in EXPORT_CSV_COLUMNS])
    return gzip.compress(text.getvalue().encode(), mtime=0)
