"""Hostile input: arbitrary events, environments, keys and oversized events never crash the function.

The function's contract (README, Failure semantics): it raises only RecordsNotSubmittedError,
MalformedEventError or ConfigurationError, each bad record fails alone with an error code, and
no output can leave the configured output directory.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualClock
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from repo import EVENTS, load_event

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION, WarmContainer
from fakes.mps import Fault, Reply
from handler.config import KNOWN_VARIABLES, Settings, load_settings
from handler.cos_event import CosUploadRecord, RecordError, parse_records
from handler.errors import ConfigurationError, MalformedEventError, RecordsNotSubmittedError, UnsafeKeyError
from handler.index import main_handler, reset_container
from handler.outputs import output_dir_for
from handler.plan import SESSION_ID_MAX, Fail, Skip, Submit, plan_record, session_id_for

SAMPLES = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EVENTS.glob("*.json"))]
PUT = load_event("put.json")
CONTEXT = {"request_id": "hostile", "time_limit_in_ms": 60_000, "tencentcloud_region": REGION}
DOCUMENTED = (RecordsNotSubmittedError, MalformedEventError, ConfigurationError)
SETTINGS = load_settings({})

# ---- strategies ---------------------------------------------------------------------------------

# Any text, lone surrogates included: json.loads turns "\ud800" into one, so an event can carry it.
# (Built from a list: st.text() over a union of alphabets drops the surrogates.)
any_text = st.lists(st.characters() | st.characters(categories=["Cs"]), max_size=30).map("".join)
# Values that look like numbers to str.isdigit() or float() but are not what they seem.
numberish = st.one_of(
    st.sampled_from(["²", "١٢٣", "৩", "Ⅻ", "1e999", "-1", " 7", "0x1A", "1_000", "", "NaN", "Infinity", "07"]),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(2**63),
)
hostile_strings = st.one_of(
    st.sampled_from(
        ["../x.jpg", "/", "//", "\x00", "a\x00.jpg", "\ud800", "\udfff.jpg", "x" * 10_000, "cos:ObjectCreated:Put"]
    ),
    any_text,
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)
# Keys that keep the sample events' /<appid>/<name>/ prefix, so they get past the prefix check.
prefixed_keys = st.one_of(hostile_strings, st.sampled_from(["..", ".", "a/../b.jpg"])).map(
    lambda k: "/1250000000/photos/" + k
)
replacement = st.one_of(json_values, numberish, hostile_strings, prefixed_keys)


# The fields parse_records reads: mutations favour them.
PARSER_FIELDS = {
    *("Records", "cos", "cosObject", "cosBucket", "event", "key", "size", "vid", "meta", "ETag", "Content-Type"),
    *("x-cos-request-id", "name", "appid", "region", "cosRegion", "eventName", "eventTime", "Authorization"),
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A real sample event with 1-4 fields replaced by hostile values or deleted."""
    event: Any = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(event))
        read = [p for p in paths if p and p[-1] in PARSER_FIELDS]
        path = draw(st.sampled_from(read if read and draw(st.booleans()) else paths))
        if not path:
            event = draw(replacement)
            continue
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(replacement)
    return event


any_event = st.one_of(json_values, mutated_events())


@contextlib.contextmanager
def strict_stdout() -> Iterator[io.BytesIO]:
    """stdout as in the SCF runtime: UTF-8 with strict errors (a lone surrogate cannot be written)."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    try:
        with contextlib.redirect_stdout(stream):
            yield raw
    finally:
        stream.detach()  # keep `raw` open for reading after the block


def log_lines(raw: io.BytesIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.getvalue().decode("utf-8").splitlines()]


def event_with_key(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """A real-shaped upload event whose raw key is exactly `key` (anything JSON can carry)."""
    record = cos_record(bucket, REGION, "placeholder.jpg")
    name, appid = bucket.rsplit("-", 1)
    record["cos"]["cosObject"]["key"] = f"/{appid}/{name}/{key}"
    return cos_event([record])


# ---- the event parser -------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(event=any_event, fallback=st.sampled_from([None, REGION]))
@example(event={"Records": [{"cos": {}, "event": {}}]}, fallback=None)
def test_parser_gives_records_or_record_errors_for_any_json(event, fallback):
    """Arbitrary JSON and mutated real events: MalformedEventError, or one typed item per record."""
    is_cos_event = isinstance(event, dict) and isinstance(event.get("Records"), list)
    try:
        parsed = parse_records(event, fallback)
    except MalformedEventError:
        assert not is_cos_event
        return
    assert is_cos_event and len(parsed) == len(event["Records"])
    for i, item in enumerate(parsed):
        assert isinstance(item, (CosUploadRecord, RecordError)) and item.position == i
        if isinstance(item, CosUploadRecord):
            assert isinstance(item.key, str) and isinstance(item.bucket, str) and item.region
            assert item.size is None or (isinstance(item.size, int) and item.size >= 0)
            assert item.event_time is None or math.isfinite(item.event_time)
        else:
            assert item.message


READ_LEAVES = [p for p in _paths(PUT) if p and p[-1] in PARSER_FIELDS]


@settings(max_examples=400, deadline=None)
@given(path=st.sampled_from(READ_LEAVES), value=replacement)
def test_one_hostile_value_in_any_field_the_parser_reads(path, value):
    """A real event with one field it reads replaced: that record parses or fails alone, nothing raises."""
    event = copy.deepcopy(PUT)
    parent = event
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    try:
        parsed = parse_records(event, REGION)
    except MalformedEventError:
        assert path == ("Records",) and not isinstance(value, list)
        return
    for item in parsed:
        assert isinstance(item, (CosUploadRecord, RecordError))
        if isinstance(item, CosUploadRecord):
            assert item.event_time is None or math.isfinite(item.event_time)
            assert isinstance(plan_record(item, SETTINGS), (Submit, Skip, Fail))


NOT_PLAIN_NUMBERS = ["²", "١٢٣", "৩", "9" * 5000, "1e999", float("inf"), float("nan")]


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", v) for v in NOT_PLAIN_NUMBERS] + [("eventTime", v) for v in [*NOT_PLAIN_NUMBERS, 10**400, -(10**400)]],
    ids=lambda v: repr(v)[:12],
)
def test_numbers_that_are_not_plain_decimal_numbers_fail_the_record_not_the_parser(field, value):
    """'²'.isdigit() is True but int('²') raises; int() refuses 5000 digits; 10**400 overflows float()."""
    event = copy.deepcopy(PUT)
    record = event["Records"][0]
    (record["cos"]["cosObject"] if field == "size" else record["event"])[field] = value
    [item] = parse_records(event)
    assert isinstance(item, RecordError) and field in item.message


@pytest.fixture
def scf_environ(fake_mps, monkeypatch) -> Iterator[Any]:
    """main_handler's os.environ pointed at the fake MPS, in a fresh container."""
    for name, value in fake_mps.function_env().items():
        monkeypatch.setenv(name, value)
    reset_container()
    yield fake_mps
    reset_container()


# Event times JSON can carry that no time formatter can write (the year 10000 once crashed the
# handler): run as explicit examples, so every run of the property test covers them.
EXTREME_EVENT_TIMES = [0, -1, 2**53, -(2**53), 253402300800, -62135596801, 1.5, 1e300, "253402300800",
                       "10000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", ""]  # fmt: skip


def _with_event_time(name: str, value: Any) -> Any:
    event = load_event(name)
    for record in event["Records"]:
        record["event"]["eventTime"] = value
    return event


def _extreme_time_examples(test: Any) -> Any:
    for value in EXTREME_EVENT_TIMES:
        for name in ("put.json", "non-image.json", "batch.json"):
            test = example(event=_with_event_time(name, value))(test)
    return test


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=any_event)
@_extreme_time_examples
def test_main_handler_on_any_json_event_raises_only_documented_errors(scf_environ, event):
    """The whole function (real SDK, fake MPS) on arbitrary events: a summary or a documented error."""
    with strict_stdout() as out:
        try:
            summary = main_handler(event, CONTEXT)
        except RecordsNotSubmittedError as exc:
            summary = exc.summary
            assert summary["failed"] > 0
        except MalformedEventError:
            assert not (isinstance(event, dict) and isinstance(event.get("Records"), list))
            return
    assert summary["records"] == len(event["Records"]) == len(summary["results"])
    assert sum(summary[k] for k in ("submitted", "duplicate", "skipped", "failed")) == summary["records"]
    json.dumps(summary, allow_nan=False)  # SCF serialises the return value
    lines = log_lines(out)  # every log line is one valid JSON object
    assert len([line for line in lines if line["message"].startswith("record ")]) == summary["records"]


# ---- the configuration validator ------------------------------------------------------------------

env_names = st.one_of(
    st.sampled_from(KNOWN_VARIABLES),
    st.sampled_from(["MPS_IMAGETASK", "MPS_", "OUTPUT_", "OUTPUT_DIRECTORY", "TENCENTCLOUD_REGION", "PATH"]),
    st.text(st.characters(exclude_characters="=\x00"), min_size=1, max_size=12),
)
json_fragments = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.sampled_from(
        [
            '{"EncodeConfig":',
            '{"EncodeConfig": {"Format": "JPEG", "Quality": NaN}}',
            '{"EncodeConfig": {"Quality": 1e400}}',
            '{"EnhanceConfig": {"SuperResolution": {"Switch": "on"}}}',
            "null",
            "[]",
            '"text"',
        ]
    ),
    st.integers(1, 3000).map(lambda n: "[" * n),
    st.integers(1, 1000).map(lambda n: '{"EncodeConfig":' * n),
    st.integers(1, 1200).map(lambda n: '{"EncodeConfig": ' + "[" * n + "]" * n + "}"),
)
# os.environ decodes undecodable bytes to lone surrogates (surrogateescape), so values can carry them.
env_values = st.one_of(
    st.text(st.characters(exclude_characters="\x00"), max_size=40),
    st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3),
    json_fragments,
    numberish.map(str),
    st.sampled_from(["/", "/../x/", "./", "enhanced", "{inputName}.{format}", "a/../b.{format}", "task.json"]),
)


@pytest.fixture(scope="module")
def task_files(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("task-files")
    (base / "task.json").write_text('{"EncodeConfig": {"Format": "WebP", "Quality": 80}}', encoding="utf-8")
    (base / "nested.json").write_text("[" * 5000, encoding="utf-8")
    (base / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    return base


@settings(max_examples=500, deadline=None)
@given(env=st.dictionaries(env_names, env_values, max_size=6))
@example(env={"MPS_IMAGE_TASK": "[" * 2000})
@example(env={"MPS_RESOURCE_ID": "\udcff"})
@example(env={"MPS_IMAGE_TASK_FILE": "nested.json"})
@example(env={"MPS_IMAGE_TASK_FILE": "binary.json"})
@example(env={"MPS_DEFINITION": "❶"})
@example(env={"MPS_IMAGE_TASK_FILE": "\ud800"})
def test_configuration_loads_or_is_refused_with_configuration_error(task_files, env):
    """Arbitrary environments: Settings that can be sent as strict JSON, or ConfigurationError; nothing else."""
    try:
        s = load_settings(env, base_dir=str(task_files))
    except ConfigurationError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(s, Settings)
    json.dumps({"ImageTask": s.image_task, "Definition": s.definition}, allow_nan=False)
    assert s.output_dir.startswith("/") and s.output_dir.endswith("/")
    assert not {".", ".."} & set(s.output_dir.split("/"))
    assert s.extensions and len(s.fingerprint) == 16


# ---- SessionId ---------------------------------------------------------------------------------------

records = st.builds(
    CosUploadRecord,
    position=st.just(0),
    bucket=any_text,
    region=st.sampled_from(["ap-guangzhou", "ap-shanghai", "na-ashburn"]),
    key=any_text,
    size=st.none() | st.integers(0, 2**64),
    version_id=any_text,
    etag=any_text,
    cos_request_id=any_text,
    event_name=st.just("cos:ObjectCreated:Put"),
    event_time=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    content_type=st.just("image/jpeg"),
)
fingerprints = st.sampled_from(["", "0123456789abcdef", "fedcba9876543210"])


def identity(record: CosUploadRecord, fingerprint: str) -> tuple[Any, ...]:
    """What the SessionId promises to distinguish (README: the recipe): the content when the ETag is known."""
    r = record
    etag = r.etag.strip()
    etag = (etag[2:] if etag[:2] in ("W/", "w/") else etag).strip().strip('"').lower()
    if etag:  # the ETag names the bytes: the size adds nothing (and an event may lack it)
        return (r.bucket, r.region, r.key, etag, fingerprint)
    return (r.bucket, r.region, r.key, r.version_id, r.cos_request_id, r.event_time, r.size, fingerprint)


@settings(max_examples=300, deadline=None)
@given(record=records, fingerprint=fingerprints)
def test_session_id_is_short_and_deterministic(record, fingerprint):
    """Any identity (lone surrogates included): at most 50 characters, the same on every delivery."""
    sid = session_id_for(record, fingerprint)
    assert len(sid) <= SESSION_ID_MAX and sid.startswith("ae3-")
    assert session_id_for(CosUploadRecord(*record), fingerprint) == sid


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.tuples(records, fingerprints), min_size=2, max_size=40))
def test_distinct_identities_never_share_a_session_id(items):
    """A generated set of uploads: no SessionId is shared by two distinct identities."""
    by_id: dict[str, tuple[Any, ...]] = {}
    for record, fingerprint in items:
        ident = identity(record, fingerprint)
        assert by_id.setdefault(session_id_for(record, fingerprint), ident) == ident


@pytest.mark.parametrize(
    ("etag", "changes"),
    [
        ('"etag"', {"bucket": "other-1250000000", "region": "ap-shanghai", "key": "a/b2.jpg", "etag": '"etag2"'}),
        ("", {"bucket": "other-1250000000", "region": "ap-shanghai", "key": "a/b2.jpg", "version_id": "v2",
              "cos_request_id": "req2", "event_time": 2.0, "size": 11}),
    ],
    ids=["by content", "by upload"],
)  # fmt: skip
def test_session_id_ignores_nothing_of_the_identity(etag, changes):
    """Changing any one identity field (the fingerprint and generation too) changes the SessionId."""
    base = CosUploadRecord(0, BUCKET, REGION, "a/b.jpg", 10, "v1", etag, "req", "cos:ObjectCreated:Put", 1.0, "")
    ids = {session_id_for(base, "f")} | {session_id_for(base._replace(**{k: v}), "f") for k, v in changes.items()}
    ids |= {session_id_for(base, "g"), session_id_for(base, "f", "r1")}
    assert len(ids) == len(changes) + 3


# ---- keys that try to escape ----------------------------------------------------------------------

ESCAPING_KEYS = [
    "../etc/passwd.jpg",
    "a/../../b.jpg",
    "./a.jpg",
    "a/./b.jpg",
    "a/..",
    "/leading-slash.jpg",
    "//double/leading.jpg",
    "a//b.jpg",
    "a/b//c.jpg",
    "..\\windows\\path.jpg",
    "%2e%2e/encoded-dots.jpg",
    "a/..jpg",
    "a/.../b.jpg",
    "a\x00b.jpg",
    "a\nb.jpg",
    "a\rb.jpg",
    "a\x1fb.jpg",
    "a\x7fb.jpg",
    "\u202egpj.exe",
    "\ud800.jpg",
    "a/\udfff/b.jpg",
    "k" * 1_000 + ".jpg",
    "d/" * 500 + "deep.jpg",
    "l" * 10_000 + ".jpg",
]


@pytest.mark.parametrize("key", ESCAPING_KEYS, ids=lambda k: repr(k)[:40])
def test_escaping_key_is_mapped_faithfully_or_refused_clearly(fake_mps, key):
    """Each key: the task's Object is exactly '/' + key under /enhanced/, or the record fails as UnsafeKey."""
    container = WarmContainer(fake_mps, stdout=True)  # logs to sys.stdout, as in SCF
    with strict_stdout() as out:
        summary = container.outcome(event_with_key(key), CONTEXT).summary
    [result] = summary["results"]
    [line] = [line for line in log_lines(out) if line["message"].startswith("record ")]
    assert line["key"] == key  # logged as the exact key, even when unprintable
    if result["outcome"] != "submitted":  # refused, or not an image at all: no call either way
        assert result["error_code"] in ("UnsafeKey", "OutputKeyTooLong") or result["outcome"] == "skipped"
        assert result["error"] or result["reason"]
        assert fake_mps.backend.calls == []
        return
    [task] = fake_mps.backend.tasks
    assert task.params["InputInfo"]["CosInputInfo"]["Object"] == "/" + key
    out_dir = task.params["OutputDir"]
    assert out_dir.startswith("/enhanced/") and not {".", ".."} & set(out_dir.split("/"))
    assert fake_mps.backend.output_path_for(task).path.startswith("/enhanced/")


@pytest.mark.parametrize("key", ["../x.jpg", "a/../../b.jpg", "a\x00b.jpg", "a\nb.jpg", "\ud800.jpg"])
def test_keys_that_could_escape_or_cannot_name_an_object_are_refused(fake_mps, key):
    """Dot segments, control characters and lone surrogates (not UTF-8, so no COS key) are UnsafeKey."""
    container = WarmContainer(fake_mps, stdout=True)
    with strict_stdout():
        summary = container.outcome(event_with_key(key), CONTEXT).summary
    assert summary["results"][0]["error_code"] == "UnsafeKey"
    assert fake_mps.backend.calls == []


def test_a_key_mps_rejects_fails_only_its_own_record(fake_mps):
    """A 700-character key MPS refuses: a clean per-record failure; the other records are submitted."""
    long_key = "l" * 700 + ".jpg"  # its output key still fits COS's 850 bytes: the function sends it
    event = cos_event([cos_record(BUCKET, REGION, "before.jpg"), cos_record(BUCKET, REGION, "after.jpg")])
    event["Records"].insert(1, event_with_key(long_key)["Records"][0])
    container = WarmContainer(fake_mps)
    original = fake_mps.server.responses.respond

    def refuse_long_objects(action, headers, body, *args):
        if long_key.encode() in body:
            fake_mps.backend.inject(Fault.error("InvalidParameterValue.Object", "Object is too long."))
        return original(action, headers, body, *args)

    fake_mps.server.responses.respond = refuse_long_objects
    with pytest.raises(RecordsNotSubmittedError) as info:
        container.invoke(event, CONTEXT)
    assert str(info.value).startswith("1 of 3 records not submitted: [1] ")
    assert str(info.value).endswith(": InvalidParameterValue.Object")
    assert [r["outcome"] for r in info.value.summary["results"]] == ["submitted", "failed", "submitted"]
    assert len(fake_mps.backend.tasks) == 2


HOSTILE_ANSWERS = [
    b"{}",
    b"[]",
    b"null",
    b'{"Response": null}',
    b'{"Response": "x"}',
    b'{"Response": {"Error": "x"}}',
    b'{"Response": {"Error": {}}}',
    b'{"Response": {"Error": {"Code": "InternalError"}}}',
    b'{"Response": {}}',
    b'{"Response": {"TaskId": 7}}',
    b"\xff\xfe",
    b"<html>bad gateway</html>",
]


@pytest.mark.parametrize("body", HOSTILE_ANSWERS, ids=lambda b: b.decode("latin-1"))
def test_an_unreadable_mps_answer_is_retried_not_a_crash(fake_mps, body):
    """A 200 JSON answer without the envelope's shape (a proxy, a truncated body): retried, one task."""
    original = fake_mps.server.responses.respond
    first = [Reply(body=body)]

    def respond(*args, **kwargs):
        return first.pop() if first else original(*args, **kwargs)

    fake_mps.server.responses.respond = respond
    summary = WarmContainer(fake_mps).invoke(PUT, CONTEXT)
    assert summary["submitted"] == 1 and summary["results"][0]["attempts"] == 2
    assert len(fake_mps.backend.tasks) == 1


output_dirs = st.sampled_from(["/enhanced/", "/out/hd/", "/a b/", "/已处理/"])
key_parts = st.sampled_from(["a", "..", ".", "", "b.jpg", "...", "%2e", "..jpg", "\\..", " ", "é", "x.png"])


@settings(max_examples=500, deadline=None)
@given(
    out=output_dirs,
    key=st.one_of(st.lists(key_parts, min_size=1, max_size=8).map("/".join), any_text.map(lambda t: t + ".jpg")),
)
def test_output_never_leaves_the_configured_output_directory(out, key):
    """Any key, any OUTPUT_DIR: OutputDir = OUTPUT_DIR + key's directories, with no '.'/'..' segment."""
    s = load_settings({"OUTPUT_DIR": out})
    try:
        out_dir = output_dir_for(key, s)
    except UnsafeKeyError:
        assert {".", ".."} & set(key.split("/")[:-1])
        return
    assert out_dir.startswith(s.output_dir) and out_dir.endswith("/")
    assert not {".", ".."} & set(out_dir.split("/"))
    # The key's directories exactly, empty ones too: two keys, two output directories.
    assert out_dir == s.output_dir + "".join(p + "/" for p in key.split("/")[:-1])
    record = CosUploadRecord(0, BUCKET, REGION, key, 1, "", "", "r", "cos:ObjectCreated:Put", 1.0, "")
    plan = plan_record(record, s)
    if isinstance(plan, Submit):
        assert plan.request["OutputDir"] == out_dir
        assert plan.request["InputInfo"]["CosInputInfo"]["Object"] == "/" + key
    else:
        assert isinstance(plan, Skip) or plan.error_code == "UnsafeKey"


# ---- oversized events -----------------------------------------------------------------------------


def big_event(count: int, key_length: int) -> dict[str, Any]:
    """`count` uploads, each with its own uploader signature (as real events carry)."""
    records = []
    for i in range(count):
        record = cos_record(BUCKET, REGION, f"big/{i:05d}-" + "k" * key_length + ".jpg", event_time=1_764_000_000 + i)
        record["event"]["requestParameters"]["requestHeaders"]["Authorization"] = (
            f"q-sign-algorithm=sha1&q-ak=FAKEIDuploader{i:08d}&q-sign-time=1764000000;1764003600"
            f"&q-key-time=1764000000;1764003600&q-header-list=host&q-url-param-list=&q-signature={i:040x}"
        )
        records.append(record)
    return cos_event(records)


def test_event_near_the_128_kb_async_limit_is_processed_within_the_time_limit(make_fake_mps):
    """116 records (just under SCF's 128 KB async event limit) against 20 requests/s: all submitted in time,
    on an injected clock that the fake's rate limit shares (time passes only as the function spends it)."""
    clock = VirtualClock(tick=0.0001)
    fake = make_fake_mps(rate_limit_per_second=20, clock=clock, rate_clock=clock)
    event = big_event(116, 0)
    assert 120_000 < len(json.dumps(event).encode()) <= 128 * 1024
    container = WarmContainer(fake, clock=clock)
    started = clock.now
    summary = container.invoke(event, CONTEXT)
    assert clock.now - started < CONTEXT["time_limit_in_ms"] / 1000
    assert summary["submitted"] == 116 and len(fake.backend.tasks) == 116
