"""DescribeImageTaskDetail's answer for one task: its status, result set and times as MPS writes them.

The backend decides where the task is in its life (WAITING, PROCESSING, FINISH) and how it
ended; this module only puts that into the Response fields, so the answer's shape is read in one
place. A failed task's ErrCode, ErrMsg and Message (and its result's) say why (fakes/mps/exceptions.py,
TaskFailure).
"""

from __future__ import annotations

import math
from urllib.parse import quote

from handler.times import format_time

from .exceptions import TaskFailure
from .outputs import output_location
from .records import JsonDict, Task

WAITING, PROCESSING, FINISH = "WAITING", "PROCESSING", "FINISH"


def task_detail(task: Task, status: str, finished_at: float, failure: TaskFailure | None) -> JsonDict:
    """The Response fields for `task` in `status`; `finished_at` is its FinishTime once FINISH,
    `failure` why it finished FAIL (None: SUCCESS, or not finished)."""
    # To the second, as MPS writes its times; truncated, as a clock reads: never a second later
    # than the task was created or finished.
    created = format_time(math.floor(task.created_at), ms=False)
    finished = format_time(math.floor(finished_at), ms=False) if status == FINISH else ""
    return {
        "TaskType": "WorkflowTask",
        "Status": status,
        "ErrCode": failure.err_code if failure else 0,
        "ErrMsg": failure.code if failure else "",
        "Message": failure.message if failure else "",
        "ImageProcessTaskResultSet": _results(task, status, failure),
        "CreateTime": created,
        "FinishTime": finished,
        "Definition": task.params.get("Definition", 0),
        "ImageTask": task.params.get("ImageTask"),
        "InputInfo": task.params.get("InputInfo"),
    }


def _results(task: Task, status: str, failure: TaskFailure | None) -> list[JsonDict]:
    if status == WAITING:
        return []
    if status == PROCESSING:
        return [{"Status": "PROCESSING", "ErrMsg": "", "Message": "", "Progress": 50, "Output": None}]
    if failure is not None:
        return [{"Status": "FAIL", "ErrMsg": failure.code, "Message": failure.message, "Progress": 0, "Output": None}]
    out = output_location(task.params)
    storage = {"Type": "COS", "CosOutputStorage": {"Bucket": out.bucket, "Region": out.region}}
    signed_url = f"https://{out.bucket}.cos.{out.region}.myqcloud.com{quote(out.path)}?q-sign-algorithm=sha1"
    output = {"Path": out.path, "OutputStorage": storage, "SignedUrl": signed_url}
    return [{"Status": "SUCCESS", "ErrMsg": "", "Message": "", "Progress": 100, "Output": output}]
