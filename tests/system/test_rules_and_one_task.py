"""Rules, per-upload control, output names and one task per image, through the real SDKs against the fakes.

The fake COS holds the objects; every write becomes the trigger event COS would send (its ETag,
Content-Type and x-cos-meta-* headers in cosObject.meta); the fake MPS is wired to the fake COS,
so outputs appear where MPS would write them; a backfill lists and HEADs the same bucket.
"""

from __future__ import annotations

import collections
import json

import pytest

from autoenhance.backfill import Backfill, BackfillOptions
from fakes.harness import WarmContainer, function_env, upload_event
from handler.config import load_settings
from handler.credentials import CredentialProvider
from handler.mps_client import MpsApi

RULES = {
    "rules": [
        {
            "name": "avatars",
            "match": {"prefix": "uploads/avatars/"},
            "image_task": {"EncodeConfig": {"Format": "WebP", "Quality": 70}},
            "output": {"dir": "/enhanced/avatars/"},
        },
        {"name": "huge", "match": {"prefix": "uploads/products/", "min_size": 4_000_000}, "skip": "already large"},
        {
            "name": "products",
            "match": {"prefix": "uploads/products/"},
            "image_task": {
                "EncodeConfig": {"Format": "JPEG", "Quality": 90},
                "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
            },
        },
        {
            "name": "print",
            "match": {"metadata": {"x-cos-meta-purpose": "print"}},
            "image_task": {"EncodeConfig": {"Format": "PNG"}},
        },
    ]
}


@pytest.fixture
def fake_mps(make_fake_mps, fake_cos):
    return make_fake_mps(cos=fake_cos, rate_limit_per_second=None)


@pytest.fixture
def rules_env(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES), encoding="utf-8")
    return {"RULES_FILE": str(path), "TRIGGER_PREFIX": "uploads/"}


class Cloud:
    """The trigger (every write under the prefix invokes the function) and a backfill, on one bucket."""

    def __init__(self, fake_cos, fake_mps, tmp_path, env):
        self.cos, self.mps, self.tmp, self.env = fake_cos, fake_mps, tmp_path, env
        self.function = WarmContainer(fake_mps, env, region=fake_cos.region)
        self.events: list = []
        self.results: list = []
        fake_cos.backend.on_object_created(self._on_write)

    def _on_write(self, created):
        if created.key.startswith("uploads/"):
            self.events.append(upload_event(created))

    def put(self, key, size=100_000, **kw):
        self.cos.backend.put_object(self.cos.bucket, key, size=None if "body" in kw else size, **kw)

    def deliver(self):
        while self.events:
            summary, _error = self.function.outcome(self.events.pop(0))
            self.results.extend(summary["results"])

    def backfill(self, report="r.jsonl", **options):
        environ = function_env(self.mps.url, self.mps.identity, **self.env)
        settings, creds = load_settings(environ), CredentialProvider(environ)
        options.setdefault("checkpoint", self.tmp / f"cp-{len(list(self.tmp.iterdir()))}.json")
        job = Backfill(
            BackfillOptions(self.cos.bucket, self.cos.region, report=self.tmp / report, **options),
            settings,
            self.cos.client,
            lambda: MpsApi(settings.endpoint, self.cos.region, creds.current, settings.http_timeout),
            creds,
        )
        summary = job.run()
        rows = [json.loads(line) for line in (self.tmp / report).read_text().splitlines()]
        return summary, {r["key"]: r for r in rows}

    def finish(self):
        backend = self.mps.backend
        self.mps.clock.advance(backend.waiting_seconds + backend.processing_seconds)
        backend.finish_due_tasks()

    def tasks_per_object(self):
        return collections.Counter(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in self.mps.backend.tasks)


# -- one task per image, whoever submits it ------------------------------------------------------


def test_the_trigger_then_a_backfill_make_one_task_per_object(fake_cos, fake_mps, tmp_path):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, {"TRIGGER_PREFIX": "uploads/"})
    keys = [f"uploads/{i}.jpg" for i in range(6)]
    for key in keys:
        cloud.put(key)
    cloud.deliver()  # the trigger: six tasks, still WAITING (no output yet for backfill's HEAD to find)
    summary, _rows = cloud.backfill(prefix="uploads/")
    assert summary["counts"] == {"duplicate": 6}
    assert cloud.tasks_per_object() == collections.Counter("/" + k for k in keys)


def test_a_backfill_then_the_trigger_make_one_task_per_object(fake_cos, fake_mps, tmp_path):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, {"TRIGGER_PREFIX": "uploads/"})
    keys = [f"uploads/{i}.png" for i in range(4)]
    for key in keys:
        cloud.put(key)
    assert cloud.backfill(prefix="uploads/")[0]["counts"] == {"submitted": 4}
    cloud.deliver()  # the same uploads' events arrive late (a queued trigger while the backfill ran)
    assert [r["outcome"] for r in cloud.results] == ["duplicate"] * 4
    assert cloud.tasks_per_object() == collections.Counter("/" + k for k in keys)


def test_a_re_upload_gets_a_new_task_only_when_its_bytes_differ(fake_cos, fake_mps, tmp_path):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, {"TRIGGER_PREFIX": "uploads/"})
    cloud.put("uploads/a.jpg", body=b"first")
    cloud.put("uploads/a.jpg", body=b"first")  # identical bytes: the same ETag
    cloud.put("uploads/a.jpg", body=b"second")
    cloud.deliver()
    assert [r["outcome"] for r in cloud.results] == ["submitted", "duplicate", "submitted"]


def test_deliberate_resubmission_makes_new_tasks_and_says_so(fake_cos, fake_mps, tmp_path):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, {})
    for key in ("uploads/a.jpg", "uploads/b.jpg", "uploads/c.jpg"):
        cloud.put(key)
    assert cloud.backfill(prefix="uploads/")[0]["counts"] == {"submitted": 3}
    # A second normal run: MPS already has each task (their outputs are not written yet).
    assert cloud.backfill(report="again.jsonl", prefix="uploads/")[0]["counts"] == {"duplicate": 3}
    summary, rows = cloud.backfill(report="redo.jsonl", resubmit="r1", keys=("uploads/a.jpg", "uploads/c.jpg"))
    assert summary["counts"] == {"submitted": 2}
    assert rows["uploads/a.jpg"]["reason"] == "resubmitted (--resubmit, generation r1)"
    assert cloud.tasks_per_object()["/uploads/a.jpg"] == 2 and cloud.tasks_per_object()["/uploads/b.jpg"] == 1


# -- output names ------------------------------------------------------------------------------


def test_images_sharing_a_name_get_their_own_outputs_and_backfill_sees_each(fake_cos, fake_mps, tmp_path):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, {"TRIGGER_PREFIX": "uploads/"})
    for key in ("uploads/u/a.jpg", "uploads/u/a.png", "uploads/u/b.jpg", "uploads/u/b.jpeg"):
        cloud.put(key)
    cloud.deliver()
    cloud.finish()
    outputs = sorted(o.key for o in fake_mps.backend.output_objects())
    assert outputs == [
        "enhanced/uploads/u/a.jpg.jpeg", "enhanced/uploads/u/a.png.jpeg",
        "enhanced/uploads/u/b.jpeg.jpeg", "enhanced/uploads/u/b.jpg.jpeg",
    ]  # fmt: skip
    cloud.cos.backend.delete_object(cloud.cos.bucket, "enhanced/uploads/u/a.png.jpeg")  # one output lost
    _summary, rows = cloud.backfill(prefix="uploads/")
    assert rows["uploads/u/a.jpg"]["reason"] == "output exists: enhanced/uploads/u/a.jpg.jpeg"
    assert rows["uploads/u/a.png"]["outcome"] != "skipped"  # a.jpg's output is not a.png's


# -- rules and per-upload control -----------------------------------------------------------------


def test_rules_choose_the_task_and_output_for_the_trigger_and_the_backfill_alike(
    fake_cos, fake_mps, tmp_path, rules_env
):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, rules_env)
    cloud.put("uploads/avatars/me.jpg")
    cloud.put("uploads/products/shoe.png")
    cloud.put("uploads/products/poster.jpg", size=5_000_000)
    cloud.put("uploads/misc/x.jpg", metadata={"purpose": "print"})
    cloud.put("uploads/misc/y.jpg")
    cloud.deliver()
    by_key = {r["key"]: r for r in cloud.results}
    assert {k: (r["rule"], r["outcome"]) for k, r in by_key.items()} == {
        "uploads/avatars/me.jpg": ("avatars", "submitted"),
        "uploads/products/shoe.png": ("products", "submitted"),
        "uploads/products/poster.jpg": ("huge", "skipped"),
        "uploads/misc/x.jpg": ("print", "submitted"),
        "uploads/misc/y.jpg": (None, "submitted"),
    }
    assert by_key["uploads/products/poster.jpg"]["reason"] == "rule huge: already large"
    requests = {t.params["InputInfo"]["CosInputInfo"]["Object"]: t.params for t in fake_mps.backend.tasks}
    assert requests["/uploads/avatars/me.jpg"]["ImageTask"]["EncodeConfig"]["Format"] == "WebP"
    assert requests["/uploads/avatars/me.jpg"]["OutputDir"] == "/enhanced/avatars/uploads/avatars/"
    assert requests["/uploads/misc/x.jpg"]["ImageTask"] == {"EncodeConfig": {"Format": "PNG"}}
    assert requests["/uploads/misc/y.jpg"]["ImageTask"]["EncodeConfig"]["Quality"] == 75  # no rule: the environment's
    # The backfill applies the same rules (with the metadata it HEADs): the same tasks, so all duplicates.
    summary, rows = cloud.backfill(prefix="uploads/")
    assert {k: r["rule"] for k, r in rows.items()} == {k: r["rule"] for k, r in by_key.items()}
    assert summary["counts"] == {"duplicate": 4, "skipped": 1}
    cloud.finish()  # each rule's outputs are the function's own: their events are skipped, not submitted
    cloud.deliver()
    assert all(r["outcome"] == "skipped" and "own output" in r["reason"] for r in cloud.results[5:])


def test_an_uploader_opts_out_or_chooses_a_rule_with_object_metadata(fake_cos, fake_mps, tmp_path, rules_env):
    cloud = Cloud(fake_cos, fake_mps, tmp_path, rules_env)
    cloud.put("uploads/avatars/keep.jpg", metadata={"autoenhance": "skip"})
    cloud.put("uploads/misc/poster.jpg", metadata={"autoenhance": "products"})
    cloud.put("uploads/misc/typo.jpg", metadata={"autoenhance": "prodcts"})
    cloud.deliver()
    skip, chosen, typo = cloud.results
    assert skip["outcome"] == "skipped" and skip["reason"] == "the uploader opted out (x-cos-meta-autoenhance: skip)"
    assert chosen["outcome"] == "submitted" and chosen["rule"] == "products"
    assert typo["outcome"] == "failed" and typo["error_code"] == "UnknownRule" and "'prodcts'" in typo["error"]
    _summary, rows = cloud.backfill(prefix="uploads/")
    assert rows["uploads/avatars/keep.jpg"]["reason"] == skip["reason"]  # the backfill honours the opt-out


def test_backfill_without_metadata_cannot_see_opt_outs_and_says_so_in_its_help():
    from autoenhance.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["backfill"].format_help()  # type: ignore[union-attr]
    assert "--no-metadata" in help_text and "opt-outs cannot apply" in help_text
