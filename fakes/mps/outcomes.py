"""How a finished task ends: what it does to the wired COS, and the outcome it then reports.

When a task reaches FINISH, MPS reads its input object and writes its output object; when it
cannot, the task finishes FAIL (docs/tencent-cloud.md#what-the-fake-mps-does-with-the-bucket).
An input holding an image's bytes gets the ImageTask done to it (fakes/mps/imaging.py): the output
is the image MPS would write, as near as Pillow gets, and an image that does not decode fails the
task with SourceFileError. Any other input (no bytes stored, or bytes that are no image format at
all: the stand-ins tests upload) gets the fake's estimate of the output (fakes/mps/outputs.py).
`run_task` does that against a fake COS backend; `saved_outcome` / `outcome_from_saved` carry an
outcome through the embedded fake's state file, in the words DescribeImageTaskDetail reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from ..cos.exceptions import CosError
from ..cos.store import object_key_problem
from .exceptions import InvalidInput, SourceFileError, TaskFailure
from .imaging import BadTask, NotAnImage, Performed, perform
from .outputs import output_location, output_size_and_type
from .records import JsonDict, OutputLocation, Task, json_object, json_text

if TYPE_CHECKING:
    from ..cos.backend import CosBackend
    from ..cos.records import StoredObject

NON_COS_INPUT_SIZE = 100_000  # a URL/S3/VOD input is never fetched: the output is sized as if it were this


@dataclass(frozen=True)
class TaskOutcome:
    """What running a finished task did: `failure` None is SUCCESS; `written` is the output object
    put into the wired COS (None when unwired or failed)."""

    failure: TaskFailure | None = None
    written: StoredObject | None = None
    # The ImageTask done on the input's image (None: unwired, failed, or an input with no image bytes).
    performed: Performed | None = None


def run_task(cos: CosBackend | None, task: Task, write: bool = True, stand_ins: bool = True) -> TaskOutcome:
    """Do to `cos` what MPS does when `task` finishes (call it with no lock held: COS callbacks
    run in this thread); `write=False` decides the same outcome and writes nothing. `stand_ins`:
    bytes that are no image format at all get an estimated output (False: SourceFileError, as
    MPS answers them).

    A missing, archived or empty input fails the task with SourceFileError, and so does an
    image that does not decode; an output bucket missing (or in another region), a key COS
    refuses or a task value MPS refuses when running it fails it with InvalidInput. A task whose
    OutputStorage is not COS, or any task with no COS to act on, succeeds and writes nothing."""
    storage = json_object(task.params.get("OutputStorage"))
    if cos is None or (storage and storage.get("Type") != "COS"):
        return TaskOutcome()
    info = json_object(task.params.get("InputInfo"))
    try:
        performed = None
        if info.get("Type") == "COS":
            cos_input = json_object(info.get("CosInputInfo"))
            source, body = _read_input(cos, cos_input)
            in_size, in_type, in_key = source.size, source.content_type, source.key
            if body is not None:
                performed = _perform(task, body, _where(cos_input), stand_ins)
        else:
            in_size, in_type = NON_COS_INPUT_SIZE, ""
            in_key = urlparse(json_text(json_object(info.get("UrlInputInfo")).get("Url"))).path
        out = output_location(task.params)
        written = _write_output(cos, task, out, in_key, in_size, in_type, write, performed)
        return TaskOutcome(written=written, performed=performed)
    except TaskFailure as failure:
        return TaskOutcome(failure)


def _where(source: Mapping[str, object]) -> str:
    path, bucket = json_text(source.get("Object")), json_text(source.get("Bucket"))
    return f"`{path}` in bucket `{bucket}` ({json_text(source.get('Region'))})"


def _perform(task: Task, body: bytes, where: str, stand_ins: bool) -> Performed | None:
    image_task = task.params.get("ImageTask")
    try:
        performed = perform(image_task if isinstance(image_task, dict) else None, body)
    except NotAnImage as e:
        # The media-processing error page's "source file error": the closest documented code for
        # an input MPS cannot decode (docs/preview.md#failures).
        raise SourceFileError(f"Source file error: {where} is not an image MPS can decode: {e}") from None
    except BadTask as e:
        raise InvalidInput(f"Invalid input: {e}") from None
    if performed is None and not stand_ins:
        raise SourceFileError(f"Source file error: {where} is not in an image format MPS reads.")
    return performed


def _read_input(cos: CosBackend, source: Mapping[str, object]) -> tuple[StoredObject, bytes | None]:
    """The input object and its bytes (None: a size-only object, which has none to decode)."""
    bucket, region = json_text(source.get("Bucket")), json_text(source.get("Region"))
    path = json_text(source.get("Object"))
    where = _where(source)
    try:
        if cos.head_bucket(bucket) != region:
            raise SourceFileError(f"Source file error: {where}: the bucket does not exist in this region.")
        stored, body = cos.get_object(bucket, path.lstrip("/"))
    except CosError as e:
        raise SourceFileError(f"Source file error: cannot read {where}: {e.code}: {e.message}") from None
    if stored.size == 0:
        raise SourceFileError(f"Source file error: {where} is empty, not an image.")
    return stored, body


def _write_output(
    cos: CosBackend,
    task: Task,
    out: OutputLocation,
    in_key: str,
    in_size: int,
    in_type: str,
    write: bool = True,
    performed: Performed | None = None,
) -> StoredObject | None:
    where = f"`{out.path}` in bucket `{out.bucket}` ({out.region})"
    try:
        found = cos.head_bucket(out.bucket)
    except CosError:
        found = None
    if found != out.region:
        raise InvalidInput(f"Invalid input: cannot write the output {where}: the output bucket does not exist.")
    if not write:
        key_problem = object_key_problem(out.path.lstrip("/"))
        if key_problem:
            raise InvalidInput(f"Invalid input: cannot write the output {where}: {key_problem}")
        return None
    try:
        if performed is not None:
            return cos.put_object(out.bucket, out.path.lstrip("/"), performed.body, content_type=performed.content_type)
        size, content_type = output_size_and_type(task.params, out, in_key, in_size, in_type)
        return cos.put_object(out.bucket, out.path.lstrip("/"), size=size, content_type=content_type)
    except (KeyError, ValueError) as e:  # COS refuses the key (too long, empty)
        raise InvalidInput(f"Invalid input: cannot write the output {where}: {e}") from None


# ---- the saved form -------------------------------------------------------------------------------

_FAILURES: dict[str, type[TaskFailure]] = {cls.code: cls for cls in (TaskFailure, SourceFileError, InvalidInput)}


def saved_outcome(outcome: TaskOutcome) -> JsonDict:
    """The outcome as DescribeImageTaskDetail reports it: {"Status": "SUCCESS"} or
    {"Status": "FAIL", "ErrCode", "ErrMsg", "Message"}."""
    failure = outcome.failure
    if failure is None:
        return {"Status": "SUCCESS"}
    return {"Status": "FAIL", "ErrCode": failure.err_code, "ErrMsg": failure.code, "Message": failure.message}


def outcome_from_saved(saved: object) -> TaskOutcome | None:
    """A saved outcome back (None when there is none to read: the task reports SUCCESS)."""
    if not isinstance(saved, dict):
        return None
    if saved.get("Status") == "SUCCESS":
        return TaskOutcome()
    if saved.get("Status") != "FAIL":
        return None
    code = json_text(saved.get("ErrMsg")) or TaskFailure.code
    cls = _FAILURES.get(code)
    if cls is None:  # a code this fake no longer raises: keep it as saved
        cls = type(f"TaskFailure_{code}", (TaskFailure,), {"code": code})
    failure = cls(json_text(saved.get("Message")))
    err_code = saved.get("ErrCode")
    if isinstance(err_code, int) and not isinstance(err_code, bool):
        failure.err_code = err_code
    return TaskOutcome(failure)
