"""The loop proof: the fakes wired together the way the cloud is.

Every object written to the fake COS becomes a trigger event (if it passes the trigger's prefix
filter, as COS would apply it) and is fed to the real handler; the fake MPS is wired to the fake
COS, so every task it accepts writes its output object there itself when it finishes, through
the same put path as an upload (its write fires the trigger). One upload must end with exactly
one task, and the output's own event must be skipped, not submitted.
"""

from __future__ import annotations

from collections import deque

import pytest

from fakes.harness import WarmContainer, upload_event
from handler.errors import ConfigurationError

MAX_HOPS = 20  # a loop would keep generating events; a correct system stops after two


@pytest.fixture
def fake_mps(make_fake_mps, fake_cos):
    """The fake MPS wired to the fake COS, on its own FakeClock (no rate limit)."""
    return make_fake_mps(cos=fake_cos, rate_limit_per_second=None)


class Cloud:
    def __init__(self, fake_cos, fake_mps, env: dict, trigger_buckets: tuple[str, ...], trigger_prefix: str):
        self.cos, self.mps = fake_cos, fake_mps
        self.trigger_buckets, self.trigger_prefix = trigger_buckets, trigger_prefix
        self.events: deque = deque()
        self.outcomes: list[dict] = []
        self.function = WarmContainer(fake_mps, env, region=fake_cos.region)
        fake_cos.backend.on_object_created(self._on_write)

    def _on_write(self, obj) -> None:
        if obj.bucket in self.trigger_buckets and obj.key.startswith(self.trigger_prefix):
            self.events.append(upload_event(obj))

    def _let_mps_finish(self) -> None:
        """Move MPS's clock past every task's processing time; its outputs appear (and trigger)."""
        backend = self.mps.backend
        self.mps.clock.advance(backend.waiting_seconds + backend.processing_seconds)
        backend.finish_due_tasks()

    def upload(self, key: str, bucket: str | None = None) -> int:
        """Upload, then run the cloud until nothing moves; returns the number of invocations."""
        self.cos.backend.put_object(bucket or self.cos.bucket, key, size=120_000)
        hops = 0
        while self.events:
            hops += 1
            assert hops <= MAX_HOPS, "the function keeps triggering itself"
            summary = self.function.invoke(self.events.popleft())
            self.outcomes.extend(summary["results"])
            self._let_mps_finish()
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
    [written] = fake_mps.backend.output_objects()  # the output is MPS's own write
    assert (written.bucket, written.key, written.content_type) == (fake_cos.bucket, output["key"], "image/jpeg")


def test_output_outside_the_trigger_prefix_never_invokes_the_function_again(fake_cos, fake_mps):
    cloud = Cloud(fake_cos, fake_mps, {"TRIGGER_PREFIX": "uploads/"}, (fake_cos.bucket,), "uploads/")
    assert cloud.upload("uploads/cat.jpg") == 1
    assert [o["outcome"] for o in cloud.outcomes] == ["submitted"]
    # The function names outputs {inputName}.{inputFormat}.{format}.
    assert "enhanced/uploads/cat.jpg.jpeg" in fake_cos.backend.objects(fake_cos.bucket)


def test_output_bucket_that_also_triggers_the_function_does_not_loop(fake_cos, fake_mps):
    fake_cos.backend.create_bucket("processed-1250000000", fake_cos.region)
    cloud = Cloud(
        fake_cos, fake_mps, {"OUTPUT_BUCKET": "processed-1250000000"}, (fake_cos.bucket, "processed-1250000000"), ""
    )
    assert cloud.upload("in/cat.jpg") == 2
    assert len(fake_mps.backend.tasks) == 1
    assert cloud.outcomes[1]["bucket"] == "processed-1250000000" and cloud.outcomes[1]["outcome"] == "skipped"
    assert [o.bucket for o in fake_mps.backend.output_objects()] == ["processed-1250000000"]


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
