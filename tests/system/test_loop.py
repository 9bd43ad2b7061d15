"""The loop proof: the fakes wired together the way the cloud is.

Every object written to the fake COS becomes a trigger event (if it passes the trigger's prefix
filter, as COS would apply it) and is fed to the real handler; every task the fake MPS accepts
writes its output object into the fake COS, where MPS would put it. One upload must end with
exactly one task, and the output's own event must be skipped, not submitted.
"""

from __future__ import annotations

from collections import deque

import pytest

from autoenhance.cos_events import cos_event, cos_record
from fakes.harness import WarmContainer
from handler.config import ConfigurationError

MAX_HOPS = 20  # a loop would keep generating events; a correct system stops after two


class Cloud:
    def __init__(self, fake_cos, fake_mps, env: dict, trigger_buckets: tuple[str, ...], trigger_prefix: str):
        self.cos, self.mps = fake_cos, fake_mps
        self.trigger_buckets, self.trigger_prefix = trigger_buckets, trigger_prefix
        self.events: deque = deque()
        self.outcomes: list[dict] = []
        self.function = WarmContainer(fake_mps, env, region=fake_cos.region)
        fake_cos.backend.on_object_created(self._on_write)
        self._tasks_seen = 0

    def _on_write(self, obj) -> None:
        if obj.bucket in self.trigger_buckets and obj.key.startswith(self.trigger_prefix):
            self.events.append(
                cos_event([cos_record(obj.bucket, obj.region, obj.key, size=obj.size, event_time=int(obj.time))])
            )

    def _mps_writes_outputs(self) -> None:
        for task in self.mps.backend.tasks[self._tasks_seen :]:
            out = self.mps.backend.output_path_for(task)
            self.cos.backend.put_object(out.bucket, out.path.lstrip("/"), size=90_000)
        self._tasks_seen = len(self.mps.backend.tasks)

    def upload(self, key: str, bucket: str | None = None) -> int:
        """Upload, then run the cloud until nothing moves; returns the number of invocations."""
        self.cos.backend.put_object(bucket or self.cos.bucket, key, size=120_000)
        hops = 0
        while self.events:
            hops += 1
            assert hops <= MAX_HOPS, "the function keeps triggering itself"
            summary = self.function.invoke(self.events.popleft())
            self.outcomes.extend(summary["results"])
            self._mps_writes_outputs()
        return hops


@pytest.mark.parametrize(
    ("env", "prefix"),
    [
        ({}, ""),  # defaults: same bucket, outputs under /enhanced/, a trigger on the whole bucket
        ({"OUTPUT_DIR": "/uploads/enhanced/", "TRIGGER_PREFIX": "uploads/"}, "uploads/"),  # output inside the prefix
    ],
)
def test_one_upload_one_task_and_the_output_event_is_skipped(fake_cos, fake_mps, env, prefix):
    cloud = Cloud(fake_cos, fake_mps, env, (fake_cos.bucket,), prefix)
    invocations = cloud.upload("uploads/cat.jpg")
    assert len(fake_mps.backend.tasks) == 1
    assert invocations == 2  # the upload, then the output's own event
    upload, output = cloud.outcomes
    assert upload["outcome"] == "submitted" and upload["key"] == "uploads/cat.jpg"
    assert output["outcome"] == "skipped" and "own output" in output["reason"]
    assert output["key"] in fake_cos.backend.objects(fake_cos.bucket)


def test_output_outside_the_trigger_prefix_never_invokes_the_function_again(fake_cos, fake_mps):
    cloud = Cloud(fake_cos, fake_mps, {"TRIGGER_PREFIX": "uploads/"}, (fake_cos.bucket,), "uploads/")
    assert cloud.upload("uploads/cat.jpg") == 1
    assert [o["outcome"] for o in cloud.outcomes] == ["submitted"]
    assert "enhanced/uploads/cat.jpeg" in fake_cos.backend.objects(fake_cos.bucket)


def test_output_bucket_that_also_triggers_the_function_does_not_loop(fake_cos, fake_mps):
    fake_cos.backend.create_bucket("processed-1250000000", fake_cos.region)
    cloud = Cloud(
        fake_cos, fake_mps, {"OUTPUT_BUCKET": "processed-1250000000"}, (fake_cos.bucket, "processed-1250000000"), ""
    )
    assert cloud.upload("in/cat.jpg") == 2
    assert len(fake_mps.backend.tasks) == 1
    assert cloud.outcomes[1]["bucket"] == "processed-1250000000" and cloud.outcomes[1]["outcome"] == "skipped"


def test_many_uploads_each_give_exactly_one_task(fake_cos, fake_mps):
    cloud = Cloud(fake_cos, fake_mps, {}, (fake_cos.bucket,), "")
    for i in range(15):
        cloud.upload(f"uploads/{i}.png")
    per_object = [t.params["InputInfo"]["CosInputInfo"]["Object"] for t in fake_mps.backend.tasks]
    assert sorted(per_object) == sorted(f"/uploads/{i}.png" for i in range(15))


@pytest.mark.parametrize(
    "env",
    [
        {"OUTPUT_DIR": "/"},
        {"OUTPUT_PATH": "/{inputName}_hd.{format}"},
        {"OUTPUT_DIR": "/enhanced/", "TRIGGER_PREFIX": "enhanced/in/"},
    ],
)
def test_a_configuration_that_would_loop_is_refused_before_any_request(fake_cos, fake_mps, env):
    cloud = Cloud(fake_cos, fake_mps, env, (fake_cos.bucket,), "")
    with pytest.raises(ConfigurationError):
        cloud.upload("uploads/cat.jpg")
    assert fake_mps.backend.calls == []
    assert cloud.function.lines()[0]["error_code"] == "InvalidConfiguration"
