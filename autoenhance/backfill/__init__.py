"""Backfill: submit the images already in a bucket, at MPS's full rate, resumably.

Each listed object becomes the same `CosUploadRecord` the function builds from an upload
event and goes through the function's own `plan_record` (filters, loop guard, mapping,
SessionId) and error classification: one code path, not a copy. What is backfill's own:

- Listing page by page (never the whole listing in memory) feeding a bounded queue of workers
  (`listing`, `job`).
- Pacing: a shared limiter spaces ProcessImage calls at `--rate` (default 20/s, MPS's limit
  per account); `RequestLimitExceeded` slows it down (and the call is retried), successes
  bring it back. Workers overlap requests so latency does not cut the rate.
- Idempotence: an object's SessionId hashes bucket, key, ETag, size and the task
  configuration, so re-running never creates a second task for the same object version within
  MPS's 3-day window. Objects whose output already exists (HEAD at the predictable output key)
  are skipped unless --force.
- Resumability: a checkpoint (listing marker + objects finished past it + in-flight keys) is
  written atomically as it goes; Ctrl-C stops cleanly with it flushed; --resume continues
  without resubmitting finished objects (`checkpoint`).
- The `--report` file: one key -> outcome row per object, streamed as results arrive
  (`outcome_file`).
"""

from __future__ import annotations

from .checkpoint import Checkpoint, checkpoint_problem, read_checkpoint
from .job import Backfill, BackfillOptions, progress_printer
from .listing import BACKFILL_EVENT, Listed, listing_record
from .outcome_file import OutcomeFile

__all__ = [
    "BACKFILL_EVENT",
    "Backfill",
    "BackfillOptions",
    "Checkpoint",
    "Listed",
    "OutcomeFile",
    "checkpoint_problem",
    "listing_record",
    "progress_printer",
    "read_checkpoint",
]
