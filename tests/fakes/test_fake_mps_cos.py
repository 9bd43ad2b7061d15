"""The fake MPS wired to a fake COS does to the bucket what MPS does, seen through both official SDKs.

A finished task's output appears at the key DescribeImageTaskDetail reports, typed by its format,
written through COS's put path (so a trigger sees it); a task that cannot read its input or write
its output finishes FAIL with the error fields and writes nothing (docs/tencent-cloud.md#what-the-
fake-mps-does-with-the-bucket). Time is the fake's FakeClock: nothing here waits for the wall clock.
"""

from __future__ import annotations

import json
import threading
import warnings
from typing import Any, Callable

import pytest
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from fakes.cos import ObjectCreated
from fakes.harness import BUCKET, REGION, FakeCos, FakeMps
from fakes.mps import validation

OUT_BUCKET = "processed-1250000000"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(2000)


def request(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the function sends for uploads/cat.png: JPEG into /enhanced/ of the same bucket."""
    params: dict[str, Any] = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/uploads/cat.png"},
        },
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
        "OutputDir": "/enhanced/",
        "ImageTask": {"EncodeConfig": {"Format": "JPEG"}},
    }
    for path, value in (changes or {}).items():
        *parents, leaf = path.split(".")
        node = params
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    return params


class Mps:
    """The typed official SDK client (models in, models out) on a fake MPS."""

    def __init__(self, fake: FakeMps) -> None:
        self.fake = fake
        http = HttpProfile(protocol="http", endpoint=fake.host, reqTimeout=10)
        self.client = mps_client.MpsClient(fake.credential, REGION, ClientProfile(httpProfile=http))

    def submit(self, params: dict[str, Any]) -> str:
        req = models.ProcessImageRequest()
        req.from_json_string(json.dumps(params))
        task_id: str = self.client.ProcessImage(req).TaskId
        return task_id

    def detail(self, task_id: str) -> models.DescribeImageTaskDetailResponse:
        """The answer as the typed SDK reads it, and checked field by field against its models."""
        req = models.DescribeImageTaskDetailRequest()
        req.TaskId = task_id
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the SDK's nested models warn of any field they lack
            answer = self.client.DescribeImageTaskDetail(req)
        raw = self.fake.client().call_json("DescribeImageTaskDetail", {"TaskId": task_id})["Response"]
        validation.validate("DescribeImageTaskDetailResponse", raw)  # every field typed as the SDK types it
        return answer


@pytest.fixture
def events(fake_cos: FakeCos) -> list[ObjectCreated]:
    """What a COS trigger on the bucket would see: every object created, by anyone."""
    seen: list[ObjectCreated] = []
    fake_cos.backend.on_object_created(seen.append)
    return seen


@pytest.fixture
def wired(make_fake_mps: Callable[..., FakeMps], fake_cos: FakeCos) -> FakeMps:
    return make_fake_mps(cos=fake_cos, rate_limit_per_second=None)


def upload(fake_cos: FakeCos, key: str = "uploads/cat.png", body: bytes = PNG, **kwargs: Any) -> None:
    fake_cos.client(retry=0).put_object(Bucket=fake_cos.bucket, Key=key, Body=body, ContentType="image/png", **kwargs)


def keys(fake_cos: FakeCos, bucket: str = BUCKET) -> list[str]:
    listed = fake_cos.client(retry=0).list_objects(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


# ---- success -----------------------------------------------------------------------------------


def test_the_output_appears_at_the_predicted_key_when_the_task_finishes_and_not_before(
    wired: FakeMps, fake_cos: FakeCos, events: list[ObjectCreated]
) -> None:
    upload(fake_cos)
    mps, cos = Mps(wired), fake_cos.client(retry=0)
    task_id = mps.submit(request())
    out = wired.backend.output_path_for(wired.backend.tasks[0])
    assert (out.bucket, out.region, out.path) == (BUCKET, REGION, "/enhanced/cat.jpeg")

    assert mps.detail(task_id).Status == "WAITING"
    assert not cos.object_exists(Bucket=BUCKET, Key="enhanced/cat.jpeg")
    wired.clock.advance(1.0)
    assert mps.detail(task_id).Status == "PROCESSING"
    assert keys(fake_cos) == ["uploads/cat.png"]

    wired.clock.advance(2.0)
    finished = mps.detail(task_id)
    assert (finished.Status, finished.ErrCode, finished.ErrMsg, finished.Message) == ("FINISH", 0, "", "")
    [result] = finished.ImageProcessTaskResultSet
    assert (result.Status, result.ErrMsg, result.Progress, result.Output.Path) == ("SUCCESS", "", 100, out.path)
    head = cos.head_object(Bucket=BUCKET, Key="enhanced/cat.jpeg")
    assert head["Content-Type"] == "image/jpeg" and int(head["Content-Length"]) > 0
    assert keys(fake_cos) == ["enhanced/cat.jpeg", "uploads/cat.png"]
    # MPS's write is an upload like any other to whoever watches the bucket (a trigger).
    assert [(e.key, e.event_name, e.content_type) for e in events] == [
        ("uploads/cat.png", "cos:ObjectCreated:Put", "image/png"),
        ("enhanced/cat.jpeg", "cos:ObjectCreated:Put", "image/jpeg"),
    ]
    [written] = wired.backend.output_objects()
    assert (written.bucket, written.key, written.size) == (BUCKET, "enhanced/cat.jpeg", int(head["Content-Length"]))
    # Written once: later calls report the same result and write nothing more.
    wired.clock.advance(60)
    assert mps.detail(task_id).ImageProcessTaskResultSet[0].Status == "SUCCESS"
    assert len(events) == 2


def test_tasks_run_at_the_next_call_or_when_told_never_in_the_background(
    wired: FakeMps, fake_cos: FakeCos, events: list[ObjectCreated]
) -> None:
    upload(fake_cos)
    mps = Mps(wired)
    mps.submit(request())
    wired.clock.advance(3.0)
    assert wired.backend.output_objects() == []  # the clock moved, but nobody asked MPS anything

    [ran] = wired.backend.finish_due_tasks()
    assert ran is wired.backend.tasks[0]
    assert wired.backend.finish_due_tasks() == []  # a task runs once
    assert [e.key for e in events] == ["uploads/cat.png", "enhanced/cat.jpeg"]

    # Any call runs the tasks due by then, a ProcessImage too (before it creates its own task).
    mps.submit(request({"OutputDir": "/second/"}))
    wired.clock.advance(3.0)
    mps.submit(request({"OutputDir": "/third/"}))
    assert [o.key for o in wired.backend.output_objects()] == ["enhanced/cat.jpeg", "second/cat.jpeg"]


@pytest.mark.parametrize(
    ("fmt", "key", "content_type"),
    [
        ("JPEG", "enhanced/cat.jpeg", "image/jpeg"),
        ("PNG", "enhanced/cat.png", "image/png"),
        ("WebP", "enhanced/cat.webp", "image/webp"),
        ("BMP", "enhanced/cat.bmp", "image/bmp"),
        (None, "enhanced/cat.png", "image/png"),  # no Format: the input's own
    ],
)
def test_the_output_is_typed_by_its_format(
    wired: FakeMps, fake_cos: FakeCos, fmt: str | None, key: str, content_type: str
) -> None:
    upload(fake_cos)
    task_id = Mps(wired).submit(request({"ImageTask.EncodeConfig.Format": fmt}))
    wired.clock.advance(3.0)
    assert Mps(wired).detail(task_id).ImageProcessTaskResultSet[0].Output.Path == "/" + key
    head = fake_cos.client(retry=0).head_object(Bucket=BUCKET, Key=key)
    assert head["Content-Type"] == content_type


def test_output_sizes_are_plausible(wired: FakeMps, fake_cos: FakeCos) -> None:
    upload(fake_cos, body=PNG)
    mps = Mps(wired)
    mps.submit(request({"OutputDir": "/jpeg/"}))
    mps.submit(request({"OutputDir": "/png/", "ImageTask.EncodeConfig.Format": "PNG"}))
    mps.submit(request({"OutputDir": "/sr/", "ImageTask.EnhanceConfig": {"SuperResolution": {"Switch": "ON"}}}))
    wired.clock.advance(3.0)
    wired.backend.finish_due_tasks()
    sizes = {o.key.split("/")[0]: o.size for o in wired.backend.output_objects()}
    assert sizes["png"] == len(PNG)  # same format, same pixels
    assert 0 < sizes["jpeg"] < sizes["png"] < sizes["sr"]  # JPEG is smaller; 2x super-resolution is 4x the pixels
    assert sizes["sr"] == pytest.approx(4 * sizes["jpeg"], abs=2)


def test_an_output_into_another_bucket(wired: FakeMps, fake_cos: FakeCos) -> None:
    fake_cos.backend.create_bucket(OUT_BUCKET, REGION)
    upload(fake_cos)
    task_id = Mps(wired).submit(request({"OutputStorage.CosOutputStorage.Bucket": OUT_BUCKET}))
    wired.clock.advance(3.0)
    assert Mps(wired).detail(task_id).ImageProcessTaskResultSet[0].Status == "SUCCESS"
    assert keys(fake_cos, OUT_BUCKET) == ["enhanced/cat.jpeg"]
    assert keys(fake_cos) == ["uploads/cat.png"]


# ---- failures ----------------------------------------------------------------------------------


def archived(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(BUCKET, "uploads/cat.png", PNG, content_type="image/png", storage_class="ARCHIVE")


@pytest.mark.parametrize(
    ("seed", "changes", "says"),
    [
        (None, {}, "NoSuchKey"),  # nothing uploaded
        (upload, {"InputInfo.CosInputInfo.Bucket": "other-1250000000"}, "NoSuchBucket"),
        (upload, {"InputInfo.CosInputInfo.Region": "ap-shanghai"}, "does not exist in this region"),
        (lambda cos: upload(cos, body=b""), {}, "empty"),
        (archived, {}, "InvalidObjectState"),
    ],
)
def test_an_input_mps_cannot_read_finishes_fail_and_writes_nothing(
    wired: FakeMps,
    fake_cos: FakeCos,
    events: list[ObjectCreated],
    seed: Callable[[FakeCos], None] | None,
    changes: dict[str, Any],
    says: str,
) -> None:
    if seed is not None:
        seed(fake_cos)
    before = keys(fake_cos)
    seeded_events = len(events)
    mps = Mps(wired)
    task_id = mps.submit(request(changes))
    wired.clock.advance(2.9)
    assert mps.detail(task_id).Status == "PROCESSING"  # the failure shows only at FINISH

    wired.clock.advance(0.1)
    detail = mps.detail(task_id)
    assert (detail.Status, detail.ErrMsg) == ("FINISH", "SourceFileError")
    assert detail.ErrCode != 0 and says in detail.Message and "/uploads/cat.png" in detail.Message
    assert detail.FinishTime == "2026-01-01T00:00:03Z"
    [result] = detail.ImageProcessTaskResultSet
    assert (result.Status, result.ErrMsg, result.Message, result.Output) == (
        "FAIL",
        "SourceFileError",
        detail.Message,
        None,
    )
    assert keys(fake_cos) == before
    assert len(events) == seeded_events and wired.backend.output_objects() == []
    outcome = wired.backend.outcome_of(task_id)
    assert outcome is not None and outcome.failure is not None and outcome.written is None


@pytest.mark.parametrize(
    "changes",
    [
        {"OutputStorage.CosOutputStorage.Bucket": "missing-1250000000"},
        {"OutputStorage.CosOutputStorage.Region": "ap-beijing"},  # the bucket exists, but not there
    ],
)
def test_an_output_bucket_that_does_not_exist_finishes_fail_and_writes_nothing(
    wired: FakeMps, fake_cos: FakeCos, events: list[ObjectCreated], changes: dict[str, Any]
) -> None:
    upload(fake_cos)
    task_id = Mps(wired).submit(request(changes))
    wired.clock.advance(3.0)

    detail = Mps(wired).detail(task_id)
    assert (detail.Status, detail.ErrMsg) == ("FINISH", "InvalidInput")
    assert detail.ErrCode != 0 and "output bucket does not exist" in detail.Message
    [result] = detail.ImageProcessTaskResultSet
    assert (result.Status, result.ErrMsg, result.Output) == ("FAIL", "InvalidInput", None)
    assert result.Message == detail.Message
    assert keys(fake_cos) == ["uploads/cat.png"]
    assert [e.key for e in events] == ["uploads/cat.png"] and wired.backend.output_objects() == []


def test_a_key_cos_refuses_finishes_fail(wired: FakeMps, fake_cos: FakeCos) -> None:
    upload(fake_cos)
    task_id = Mps(wired).submit(request({"OutputPath": "/" + "x" * 900 + ".{format}"}))
    wired.clock.advance(3.0)
    detail = Mps(wired).detail(task_id)
    assert (detail.ErrMsg, detail.ImageProcessTaskResultSet[0].Status) == ("InvalidInput", "FAIL")
    assert keys(fake_cos) == ["uploads/cat.png"]


# ---- what stays as it was ----------------------------------------------------------------------


def test_an_unwired_fake_writes_nothing_and_reports_success(
    fake_mps: FakeMps, fake_cos: FakeCos, events: list[ObjectCreated]
) -> None:
    task_id = Mps(fake_mps).submit(request())  # no input anywhere: an unwired fake never looks
    fake_mps.clock.advance(3.0)
    detail = Mps(fake_mps).detail(task_id)
    assert (detail.Status, detail.ErrCode, detail.ErrMsg) == ("FINISH", 0, "")
    [result] = detail.ImageProcessTaskResultSet
    assert (result.Status, result.Output.Path) == ("SUCCESS", "/enhanced/cat.jpeg")
    assert keys(fake_cos) == [] and events == [] and fake_mps.backend.output_objects() == []
    assert fake_mps.backend.cos is None


def test_tasks_for_object_sees_wired_tasks(wired: FakeMps, fake_cos: FakeCos) -> None:
    upload(fake_cos)
    Mps(wired).submit(request())
    wired.clock.advance(3.0)
    wired.backend.finish_due_tasks()
    assert wired.backend.tasks_for_object(BUCKET, "uploads/cat.png") == wired.backend.tasks
    assert wired.backend.tasks_for_object(BUCKET, "enhanced/cat.jpeg") == []


def test_restored_tasks_never_run_here(make_fake_mps: Callable[..., FakeMps], fake_cos: FakeCos) -> None:
    first = make_fake_mps(rate_limit_per_second=None)
    Mps(first).submit(request())
    saved = [vars(t) for t in first.backend.tasks]

    second = make_fake_mps(cos=fake_cos, rate_limit_per_second=None)
    second.backend.restore_tasks(saved)
    second.clock.advance(3.0)
    assert second.backend.finish_due_tasks() == []
    detail = Mps(second).detail(saved[0]["task_id"])
    assert (detail.Status, detail.ImageProcessTaskResultSet[0].Status) == ("FINISH", "SUCCESS")
    assert keys(fake_cos) == []


def test_saved_tasks_carry_each_outcome_and_restored_tasks_report_it(
    make_fake_mps: Callable[..., FakeMps], make_fake_cos: Callable[..., FakeCos], fake_cos: FakeCos
) -> None:
    first = make_fake_mps(cos=fake_cos, rate_limit_per_second=None)
    upload(fake_cos, "uploads/ran.png")
    ran = Mps(first).submit(request({"InputInfo.CosInputInfo.Object": "/uploads/ran.png"}))
    first.clock.advance(3.0)
    assert Mps(first).detail(ran).Status == "FINISH"  # it ran: its output is written
    fake_cos.client(retry=0).delete_object(Bucket=BUCKET, Key="uploads/ran.png")  # how it ended stays
    upload(fake_cos)
    ok = Mps(first).submit(request())
    gone = Mps(first).submit(request({"InputInfo.CosInputInfo.Object": "/uploads/gone.png"}))
    no_bucket = Mps(first).submit(request({"OutputStorage.CosOutputStorage.Bucket": "missing-1250000000"}))
    written = keys(fake_cos)

    saved = json.loads(json.dumps(first.backend.saved_tasks()))  # through JSON, as the state file holds it
    outcomes = {item["task_id"]: item["outcome"] for item in saved}
    assert outcomes[ran] == outcomes[ok] == {"Status": "SUCCESS"}
    assert outcomes[gone]["Status"] == "FAIL" and outcomes[gone]["ErrMsg"] == "SourceFileError"
    assert outcomes[gone]["ErrCode"] == 60000 and "/uploads/gone.png" in outcomes[gone]["Message"]
    assert (outcomes[no_bucket]["Status"], outcomes[no_bucket]["ErrMsg"]) == ("FAIL", "InvalidInput")
    assert keys(fake_cos) == written and len(first.backend.output_objects()) == 1  # deciding wrote nothing

    elsewhere = make_fake_cos()  # another process's COS: it never held these inputs
    second = make_fake_mps(cos=elsewhere, rate_limit_per_second=None)
    second.backend.restore_tasks(saved)
    assert Mps(second).detail(gone).Status == "WAITING"  # the failure shows only at FINISH, as before
    second.clock.advance(6.0)
    assert second.backend.finish_due_tasks() == []
    detail = Mps(second).detail(gone)
    assert (detail.Status, detail.ErrMsg, detail.ErrCode) == ("FINISH", "SourceFileError", 60000)
    assert detail.Message == outcomes[gone]["Message"]
    [result] = detail.ImageProcessTaskResultSet
    assert (result.Status, result.ErrMsg, result.Output) == ("FAIL", "SourceFileError", None)
    assert Mps(second).detail(no_bucket).ErrMsg == "InvalidInput"
    for task_id in (ran, ok):
        assert Mps(second).detail(task_id).ImageProcessTaskResultSet[0].Status == "SUCCESS"
    assert keys(elsewhere) == []
    assert json.loads(json.dumps(second.backend.saved_tasks())) == saved  # saved again, unchanged


def test_tasks_restored_without_an_outcome_report_success_and_are_saved_without_one(
    make_fake_mps: Callable[..., FakeMps], fake_cos: FakeCos
) -> None:
    first = make_fake_mps(rate_limit_per_second=None)
    task_id = Mps(first).submit(request())
    older = [vars(t) for t in first.backend.tasks]  # a state file from before outcomes were saved

    second = make_fake_mps(cos=fake_cos, rate_limit_per_second=None)  # its COS lacks the input
    second.backend.restore_tasks(older)
    second.clock.advance(3.0)
    detail = Mps(second).detail(task_id)
    assert (detail.Status, detail.ImageProcessTaskResultSet[0].Status) == ("FINISH", "SUCCESS")
    [saved] = second.backend.saved_tasks()
    assert "outcome" not in saved and saved == older[0]


def test_reset_forgets_outcomes_and_unrun_tasks(wired: FakeMps, fake_cos: FakeCos) -> None:
    upload(fake_cos)
    Mps(wired).submit(request())
    wired.backend.reset()
    wired.backend.add_credential(*wired.identity)
    wired.clock.advance(3.0)
    assert wired.backend.finish_due_tasks() == [] and wired.backend.output_objects() == []
    assert wired.backend.cos is fake_cos.backend  # the wiring is a setting, kept


# ---- threads and callbacks ----------------------------------------------------------------------


def test_a_trigger_that_calls_mps_while_the_output_is_written_does_not_deadlock(
    wired: FakeMps, fake_cos: FakeCos
) -> None:
    upload(fake_cos)
    mps = Mps(wired)
    task_id = mps.submit(request())
    seen: list[str] = []

    def trigger(obj: ObjectCreated) -> None:
        # A COS-triggered function would call MPS from here; the task is still being run.
        seen.append(mps.detail(task_id).Status)

    fake_cos.backend.on_object_created(trigger)
    wired.clock.advance(3.0)
    done = threading.Event()
    threading.Thread(target=lambda: (wired.backend.finish_due_tasks(), done.set()), daemon=True).start()
    assert done.wait(10), "finish_due_tasks held a lock across the COS callbacks"
    assert fake_cos.backend.callback_errors == []
    assert seen == ["PROCESSING"]  # MPS says FINISH only once its write is over
    assert mps.detail(task_id).Status == "FINISH"


def test_concurrent_calls_run_each_task_once(wired: FakeMps, fake_cos: FakeCos) -> None:
    upload(fake_cos)
    mps = Mps(wired)
    task_ids = [mps.submit(request({"OutputDir": f"/out{i}/"})) for i in range(8)]
    wired.clock.advance(3.0)
    errors: list[BaseException] = []

    def describe_all() -> None:
        try:
            client = Mps(wired)
            for task_id in task_ids:
                client.detail(task_id)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=describe_all) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(o.key for o in wired.backend.output_objects()) == sorted(f"out{i}/cat.jpeg" for i in range(8))


def test_a_task_the_fake_fails_to_run_is_internalerror_and_the_others_still_run(
    wired: FakeMps, fake_cos: FakeCos, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(fake_cos)
    mps = Mps(wired)
    broken, fine = mps.submit(request({"OutputDir": "/broken/"})), mps.submit(request())
    put = fake_cos.backend.put_object

    def flaky_put(bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.startswith("broken/"):
            raise RuntimeError("disk on fire")
        return put(bucket, key, *args, **kwargs)

    monkeypatch.setattr(fake_cos.backend, "put_object", flaky_put)
    wired.clock.advance(3.0)
    with pytest.raises(RuntimeError, match="disk on fire"):
        wired.backend.finish_due_tasks()  # a bug of the fake is not swallowed

    assert (mps.detail(broken).ErrMsg, mps.detail(fine).ImageProcessTaskResultSet[0].Status) == (
        "InternalError",
        "SUCCESS",
    )
    assert [o.key for o in wired.backend.output_objects()] == ["enhanced/cat.jpeg"]
