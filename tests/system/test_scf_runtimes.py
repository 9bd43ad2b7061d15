"""The BUILT package under SCF's real runtimes (Python3.9 and Python3.10), as SCF runs it.

Each test starts a warm "container" (tests/scf_runtime.py): the runtime's own interpreter,
`-I -B`, sys.path exactly [package] + its stdlib, PYTHONDONTWRITEBYTECODE=1, the package a
read-only copy of `autoenhance package --runtime PythonX.Y`, the deployed configuration
(the fixture serverless.yml's variables, image-task.json from the code root) and the role's keys, pointed at
the fake MPS running in this process. It calls `index.main_handler` there (the handler string
SCF resolves) as often as the test likes.

The tests that need an interpreter carry the marker scf_python39 / scf_python310. When it is not
installed they fail with RuntimeNotFound, never skip; `python3 dev.py test` deselects them
locally, saying which runtime went untested, and fails the run in CI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from canaries import CANARY_ROLE, ECHO, SECRETS, with_canary_header
from repo import PROJECT, ROOT
from repo import load_event as load
from scf_runtime import (
    SCF_RUNTIMES,
    BuiltPackage,
    Invocation,
    PackageBuilds,
    ScfContainer,
    ScfRuntime,
    container_env,
    find_runtime,
    marker_for,
    scf_context,
)

from fakes.identities import ROTATED_ROLE
from fakes.mps import Fault

SERVERLESS = yaml.safe_load((PROJECT / "serverless.yml").read_text(encoding="utf-8"))["inputs"]
HANDLER = SERVERLESS["handler"]  # "index.main_handler", resolved in the container as SCF does
IMAGE_TASK = json.loads((PROJECT / "image-task.json").read_text(encoding="utf-8"))
BUCKET, REGION = "photos-1250000000", "ap-guangzhou"

# The tests that run an interpreter: one per SCF runtime, each marked so dev.py can deselect it.
RUNTIMES = [pytest.param(v, marks=getattr(pytest.mark, marker_for(v)), id=f"python{v}") for v in SCF_RUNTIMES]


def deployed_variables() -> dict[str, str]:
    """The fixture serverless.yml's environment.variables, its ${env:...} references filled from its .env."""
    lines = (PROJECT / "dotenv").read_text(encoding="utf-8").splitlines()
    dotenv = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    variables = {}
    for name, value in SERVERLESS["environment"]["variables"].items():
        text = str(value)
        for ref, replacement in dotenv.items():
            text = text.replace("${env:" + ref + "}", replacement)
        assert "${" not in text, f"{name}={value!r}: unresolved reference"
        variables[name] = text
    return variables


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scf_packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageBuilds]:
    builds = PackageBuilds(tmp_path_factory.mktemp("scf-packages"))
    yield builds
    builds.close()


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> ScfRuntime:
    return find_runtime(request.param)  # RuntimeNotFound: an error, not a skip


@pytest.fixture
def package(runtime: ScfRuntime, scf_packages: PackageBuilds) -> BuiltPackage:
    return scf_packages.get(runtime.version)


StartContainer = Callable[..., ScfContainer]


@pytest.fixture
def start(runtime: ScfRuntime, package: BuiltPackage, fake_mps: Any) -> Iterator[StartContainer]:
    """start(fake=fake_mps, **env overrides; None removes) -> a warm container; stopped at teardown."""
    started: list[ScfContainer] = []

    def _start(fake: Any = None, **overrides: str | None) -> ScfContainer:
        function_env = {**deployed_variables(), **(fake or fake_mps).function_env()}
        env = container_env(function_env, **overrides)
        container = ScfContainer(runtime, package.readonly, env, HANDLER)
        started.append(container)
        return container

    yield _start
    for container in started:
        container.close()


@pytest.fixture
def container(start: StartContainer) -> ScfContainer:
    return start()


def assert_clean_run(inv: Invocation) -> None:
    """Every stdout line is one JSON object, nothing on stderr, no file written or attempted (bytecode included)."""
    assert inv.non_json == [], inv.stdout
    assert inv.stderr == ""
    assert inv.new_files == [] and inv.writes == {"package": [], "elsewhere": []}


# ---- the container really is the SCF runtime -----------------------------------------------------------


def test_the_container_runs_the_scf_interpreter_with_only_the_package_on_sys_path(runtime, package, container):
    report = container.inspect()
    assert tuple(report.version_info[:2]) == runtime.version_info
    assert report.sys_path[0] == report.package == str(package.readonly.resolve())
    lib = {str(Path(d).parent) for d in report.stdlib_dirs}  # lib/python3.X, lib-dynload, lib/python3X.zip
    for entry in report.sys_path[1:]:
        assert any(entry.startswith(d + "/") for d in lib), entry
        assert not any(entry.startswith(d) for d in report.site_dirs), entry
    assert report.dont_write_bytecode and report.flags["isolated"] == 1
    assert report.environ_dont_write_bytecode == "1"
    assert report.cwd == report.package
    assert report.package_modules > 0  # the handler came from the package
    assert container.version_info == report.version_info
    assert container.startup_output == ""  # importing the handler prints nothing


# ---- the behaviour that matters -------------------------------------------------------------------


def test_an_upload_becomes_exactly_one_task_with_the_documented_request(container, fake_mps):
    inv = container.invoke(load("put.json"), scf_context(request_id="scf-put"))
    summary = inv.returned()
    assert summary["records"] == summary["submitted"] == 1 and summary["failed"] == 0
    [result] = summary["results"]
    [task] = fake_mps.backend.tasks
    assert result["task_id"] == task.task_id
    assert task.params["InputInfo"] == {
        "Type": "COS",
        "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/uploads/2026/cat.jpg"},
    }
    assert task.params["OutputStorage"] == {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}}
    assert task.params["OutputDir"] == "/enhanced/uploads/2026/"
    assert task.params["ImageTask"] == IMAGE_TASK  # MPS_IMAGE_TASK_FILE, read from the read-only code root
    assert task.session_id == result["session_id"] and task.session_id.startswith("ae3-")
    assert len(task.session_id) <= 50
    assert task.region == REGION
    [line] = inv.records_logged()
    assert line["outcome"] == "submitted" and line["task_id"] == task.task_id
    assert line["scf_request_id"] == "scf-put" and line["cold_start"] is True
    assert_clean_run(inv)


def test_a_batch_gives_one_task_and_one_log_line_per_record(container, fake_mps):
    inv = container.invoke(load("batch.json"))
    assert inv.returned()["submitted"] == 5
    assert len(fake_mps.backend.tasks) == 5
    logged = inv.records_logged()
    assert [line["index"] for line in logged] == [0, 1, 2, 3, 4]
    for line in logged:
        for name in ("bucket", "key", "session_id", "task_id", "mps_request_id", "latency_ms", "since_event_s"):
            assert line[name] is not None, name
    assert_clean_run(inv)


def test_unicode_space_and_percent_keys_reach_mps_unchanged(container, fake_mps):
    inv = container.invoke(load("unicode-and-space-key.json"))
    assert inv.returned()["submitted"] == 1
    [task] = fake_mps.backend.tasks
    assert task.params["InputInfo"]["CosInputInfo"]["Object"] == "/uploads/假期 照片/海边 日落+1 100%.jpg"
    assert task.params["OutputDir"] == "/enhanced/uploads/假期 照片/"
    assert inv.records_logged()[0]["key"] == "uploads/假期 照片/海边 日落+1 100%.jpg"  # UTF-8 in the log line


def test_unsafe_keys_fail_alone_and_unusual_ones_pass_with_one_json_line_each(container, fake_mps):
    """Through the real runtime's stdout: a lone surrogate, NUL and `..` are refused per record; a
    line separator (U+2028) and an emoji reach MPS, and every record is still one JSON line."""
    keys = [
        "uploads/\ud800.jpg",
        "uploads/a\x00b.jpg",
        "uploads/../x.jpg",
        "uploads/a\u2028b.jpg",
        "uploads/\U0001f600.JPG",
    ]
    event = load("batch.json")
    for record, key in zip(event["Records"], keys):
        record["cos"]["cosObject"]["key"] = "/1250000000/photos/" + key
    inv = container.invoke(event)
    error = inv.raised("RecordsNotSubmittedError")
    assert error.message.startswith("3 of 5 records not submitted: [0] ")
    assert [(line["outcome"], line["error_code"]) for line in inv.records_logged()] == [
        ("failed", "UnsafeKey"),
        ("failed", "UnsafeKey"),
        ("failed", "UnsafeKey"),
        ("submitted", None),
        ("submitted", None),
    ]
    assert [t.params["InputInfo"]["CosInputInfo"]["Object"] for t in fake_mps.backend.tasks] == [
        "/" + k for k in keys[3:]
    ]
    assert_clean_run(inv)


def test_a_redelivered_event_is_a_duplicate_in_a_warm_and_in_a_fresh_container(start, fake_mps):
    warm = start()
    first = warm.invoke(load("put.json")).returned()
    again = warm.invoke(load("put.json")).returned()
    assert first["submitted"] == 1 and first["cold_start"] is True
    assert again["duplicate"] == 1 and again["failed"] == 0 and again["cold_start"] is False
    fresh = start().invoke(load("put.json")).returned()
    assert fresh["duplicate"] == 1 and fresh["cold_start"] is True
    assert len(fake_mps.backend.tasks) == 1


def test_a_warm_container_keeps_its_connection_and_picks_up_rotated_keys(container, fake_mps):
    container.invoke(load("put.json")).returned()
    rotated = ROTATED_ROLE.environ()
    fake_mps.backend.add_credential(*ROTATED_ROLE)
    inv = container.invoke(load("copy.json"), environ=rotated)
    assert inv.returned()["submitted"] == 1
    assert [t.secret_id for t in fake_mps.backend.tasks] == [
        fake_mps.credential.secret_id,
        rotated["TENCENTCLOUD_SECRETID"],
    ]
    assert fake_mps.server.connections_opened == 1  # one keep-alive connection for the container's life
    assert rotated["TENCENTCLOUD_SECRETKEY"] not in inv.everything()


def test_skipped_records_make_no_call(container, fake_mps):
    for name, reason in [
        ("non-image.json", "not an image"),
        ("delete.json", "not an upload"),
        ("output-directory-object.json", "own output"),
    ]:
        inv = container.invoke(load(name))
        summary = inv.returned()
        assert summary["skipped"] == 1 and reason in summary["results"][0]["reason"], name
        assert inv.records_logged()[0]["outcome"] == "skipped"
        assert_clean_run(inv)
    assert fake_mps.backend.calls == []


def test_rules_and_the_uploaders_metadata_choose_the_task(start, fake_mps):
    """RULES_FILE (the fixture's, the shipped example's rules) and x-cos-meta-* headers, under the runtime's own interpreter."""
    container = start(TRIGGER_PREFIX="uploads/", RULES_FILE=str(PROJECT / "rules.json"))
    lines = {}
    for name in ("avatar-upload.json", "product-shot.json", "opt-out-metadata.json", "put.json"):
        inv = container.invoke(load(name))
        [line] = inv.records_logged()
        lines[line["key"]] = line
        assert_clean_run(inv)
    assert {k: (v["rule"], v["outcome"]) for k, v in lines.items()} == {
        "uploads/avatars/u123.png": ("avatars", "submitted"),
        "uploads/products/shoe.jpg": ("products", "submitted"),
        "uploads/2026/keep-as-is.jpg": (None, "skipped"),
        "uploads/2026/cat.jpg": (None, "submitted"),
    }
    assert "opted out" in lines["uploads/2026/keep-as-is.jpg"]["reason"]
    tasks = {t.params["InputInfo"]["CosInputInfo"]["Object"]: t.params for t in fake_mps.backend.tasks}
    avatar = tasks["/uploads/avatars/u123.png"]
    assert avatar["ImageTask"]["EncodeConfig"] == {"Format": "WebP", "Quality": 70}
    assert (avatar["OutputDir"], avatar["OutputPath"]) == ("/enhanced/avatars/uploads/avatars/", "u123.png.{format}")
    assert tasks["/uploads/2026/cat.jpg"]["ImageTask"] == IMAGE_TASK


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.error("RequestLimitExceeded"), id="throttled"),
        pytest.param(Fault.error("InternalError"), id="internal-error"),
        pytest.param(Fault.http_status(502), id="http-502"),
        pytest.param(Fault.drop(), id="dropped-connection"),
    ],
)
def test_a_transient_fault_is_retried_and_submitted(container, fake_mps, fault):
    fake_mps.backend.inject(fault, times=2)
    inv = container.invoke(load("put.json"))
    summary = inv.returned()
    assert summary["submitted"] == 1
    assert summary["results"][0]["attempts"] == 3
    assert len(fake_mps.backend.tasks) == 1
    assert_clean_run(inv)


def test_a_lost_answer_is_recovered_as_a_duplicate_without_a_second_task(container, fake_mps):
    fake_mps.backend.inject(Fault.lost_answer(), times=1)
    inv = container.invoke(load("put.json"))
    summary = inv.returned()
    assert summary["duplicate"] == 1 and summary["failed"] == 0
    assert_clean_run(inv)
    assert len(fake_mps.backend.tasks) == 1


def test_an_answer_slower_than_the_http_timeout_is_retried_safely(start, fake_mps):
    container = start(MPS_TIMEOUT_SECONDS="0.2")
    fake_mps.backend.inject(Fault.slow(0.5), times=1)
    inv = container.invoke(load("put.json"))
    [result] = inv.returned()["results"]
    assert_clean_run(inv)
    assert result["outcome"] in ("submitted", "duplicate") and result["attempts"] >= 2  # 2 unless the machine stalls
    assert len(fake_mps.backend.tasks) == 1


@pytest.mark.parametrize(
    "fault",
    [Fault.cut_body(), Fault.cut_body(sent_bytes=10), Fault.bad_encoding("gzip"), Fault.stall_body(1.0)],
    ids=["cut-after-headers", "cut-mid-body", "bad-content-encoding", "stalled-body"],
)
def test_a_broken_answer_after_the_task_was_created_is_a_duplicate_with_its_story(start, fake_mps, fault):
    """The faults that escaped as raw requests exceptions under SCF's Python: now a retry that finds
    its own task, one log line, no traceback."""
    container = start(MPS_TIMEOUT_SECONDS="0.5")
    fake_mps.backend.inject(fault, times=1)
    inv = container.invoke(load("put.json"))
    [result] = inv.returned()["results"]
    assert_clean_run(inv)
    assert result["outcome"] == "duplicate" and "got no answer (NetworkError." in result["reason"]
    assert len(fake_mps.backend.tasks) == 1


def test_a_trickling_answer_is_cut_at_the_deadline_and_the_record_listed(container, fake_mps):
    """One byte every 0.1 s (seconds for the whole answer) against a 2 s time limit: every attempt
    ends at its deadline, and the invocation fails listing the record instead of being killed."""
    fake_mps.backend.inject(Fault.trickle_body(0.1), times=100)
    inv = container.invoke(load("put.json"), scf_context(time_limit_ms=2000))
    error = inv.raised("RecordsNotSubmittedError")
    assert '"photos-1250000000/uploads/2026/cat.jpg": NetworkError.DeadlineExceeded' in error.message
    assert inv.records_logged()[0]["error_code"] == "NetworkError.DeadlineExceeded"


def test_a_permanent_error_fails_the_invocation_listing_the_record(container, fake_mps):
    fake_mps.backend.inject(Fault.error("FailedOperation.InvalidMpsUser"), times=1)
    inv = container.invoke(load("put.json"))
    error = inv.raised("RecordsNotSubmittedError")
    assert '"photos-1250000000/uploads/2026/cat.jpg": FailedOperation.InvalidMpsUser' in error.message
    assert error.summary["failed"] == 1 and error.summary["submitted"] == 0
    assert error.summary["results"][0]["error_code"] == "FailedOperation.InvalidMpsUser"
    assert inv.records_logged()[0]["outcome"] == "failed"
    assert len(fake_mps.backend.calls) == 1 and fake_mps.backend.tasks == []  # not retried
    assert_clean_run(inv)


def test_one_bad_record_fails_the_invocation_and_the_others_are_submitted_once(container, fake_mps):
    event = load("batch.json")
    event["Records"][2]["cos"]["cosObject"]["key"] = "/1/wrong/prefix.jpg"
    inv = container.invoke(event)
    error = inv.raised("RecordsNotSubmittedError")
    assert error.message.startswith("1 of 5 records not submitted: [2] ") and "MalformedRecord" in error.message
    assert [line["outcome"] for line in inv.records_logged()] == ["submitted"] * 2 + ["failed"] + ["submitted"] * 2
    assert_clean_run(inv)
    assert error.summary["submitted"] == 4 and error.summary["failed"] == 1
    retry = container.invoke(event).raised("RecordsNotSubmittedError")  # SCF's retry of the event
    assert retry.summary["duplicate"] == 4
    assert len(fake_mps.backend.tasks) == 4


# Every event time JSON can carry, the extremes first: a record's time never crashes its logging.
EXTREME_EVENT_TIMES = [0, -1, 2**53, -(2**53), 253402300800, -62135596801, 1.5, 1e300, -1e300, "253402300800",
                       "9999-12-31T23:59:59.999Z", "10000-01-01T00:00:00Z", "0", "", None, True, [], {}]  # fmt: skip


def test_any_event_time_submits_skips_or_fails_the_record_never_the_handler(container, fake_mps):
    """The year 10000 once made main_handler raise ValueError from its time formatter, even for a skipped record."""
    image, not_image = load("put.json")["Records"][0], load("non-image.json")["Records"][0]
    for value in EXTREME_EVENT_TIMES:
        records = [json.loads(json.dumps(r)) for r in (image, not_image)]
        for record in records:
            record["event"]["eventTime"] = value
        inv = container.invoke({"Records": records})
        assert inv.error is None or inv.error.type == "RecordsNotSubmittedError", (value, inv.error)
        summary = inv.value if inv.error is None else inv.error.summary
        assert summary["records"] == 2 and len(inv.records_logged()) == 2, value
        outcomes = [line["outcome"] for line in inv.records_logged()]
        # A readable time: the image is submitted (once; a duplicate after) and the PDF skipped.
        # An unreadable one is a malformed record: both fail, and SCF retries then dead-letters.
        assert outcomes in (["submitted", "skipped"], ["duplicate", "skipped"], ["failed", "failed"]), value
        if outcomes[0] == "failed":
            assert {line["error_code"] for line in inv.records_logged()} == {"MalformedRecord"}
        assert_clean_run(inv)


def test_a_malformed_event_raises_malformed_event_error(container, fake_mps):
    for event, message in [
        ({"foo": 1}, "no Records field"),
        ([], "event should be a JSON object"),
        ("Records", "got string"),
    ]:
        inv = container.invoke(event)
        error = inv.raised("MalformedEventError")
        assert message in error.message
        [line] = inv.logs
        assert line["error_code"] == "MalformedEvent" and message in line["error"]
        assert_clean_run(inv)
    assert fake_mps.backend.calls == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"MPS_IMAGE_TASK_FILE": None, "MPS_IMAGE_TASK": '{"EncodeConfig": {"Quality": 0}}'},
            "Quality: 0 is out of range",
            id="image-task-out-of-range",
        ),
        pytest.param({"MPS_IMAGE_TASK_FILE": "missing.json"}, "MPS_IMAGE_TASK_FILE", id="task-file-missing"),
        pytest.param({"OUTPUT_DIR": "/"}, "trigger the function again", id="output-loops"),
        pytest.param({"MPS_OUTPUT_DIR": "/x/"}, "MPS_OUTPUT_DIR", id="unknown-variable"),
        pytest.param({"RULES_FILE": "missing-rules.json"}, "RULES_FILE='missing-rules.json'", id="rules-file-missing"),
    ],
)
def test_a_bad_configuration_raises_configuration_error_on_every_invocation(start, fake_mps, overrides, message):
    container = start(**overrides)
    for _ in range(2):
        inv = container.invoke(load("put.json"))
        error = inv.raised("ConfigurationError")
        assert message in error.message
        [line] = inv.logs
        assert line["error_code"] == "InvalidConfiguration"
        assert_clean_run(inv)
    assert fake_mps.backend.calls == []


# ---- secrets ------------------------------------------------------------------------------------------

CANARY_KEY, CANARY_TOKEN = CANARY_ROLE.secret_key, CANARY_ROLE.token


def test_the_secret_key_and_token_never_appear_in_logs_errors_or_return_values(start, make_fake_mps):
    def canary_mps() -> Any:
        return make_fake_mps(identity=CANARY_ROLE, rate_limit_per_second=None)

    seen: list[tuple[str, Invocation, dict[str, str]]] = []  # (scenario, invocation, what it must not show)

    fake = canary_mps()
    warm = start(fake)
    seen.append(("success", warm.invoke(with_canary_header(load("batch.json"))), SECRETS))
    fake.backend.inject(Fault.drop(), times=1)
    seen.append(("retried", warm.invoke(with_canary_header(load("copy.json"))), SECRETS))
    seen.append(("duplicate", warm.invoke(with_canary_header(load("batch.json"))), SECRETS))
    fake.backend.inject(Fault.error("AuthFailure.UnauthorizedOperation", ECHO), times=1)
    seen.append(("permanent", warm.invoke(with_canary_header(load("put.json"))), SECRETS))
    malformed_record = with_canary_header(load("put.json"))
    malformed_record["Records"].append({"cos": CANARY_KEY, "event": {"token": CANARY_TOKEN}})
    seen.append(("malformed record", warm.invoke(malformed_record), SECRETS))
    seen.append(("malformed event", warm.invoke({"Records": CANARY_TOKEN, "key": CANARY_KEY}), SECRETS))

    exhausted = canary_mps()  # its own fake: the queued faults never reach the scenarios below
    exhausted.backend.inject(Fault.error("InternalError", ECHO), times=10_000)
    short = scf_context(time_limit_ms=2_000)  # retried until the (short) time budget is gone
    seen.append(("retries exhausted", start(exhausted).invoke(with_canary_header(load("put.json")), short), SECRETS))

    wrong = CANARY_KEY[::-1]  # not the registered key: SignatureFailure; still a secret
    wrong_key = start(fake, TENCENTCLOUD_SECRETKEY=wrong)
    secrets = {**SECRETS, "secret key": wrong}
    seen.append(("signature failure", wrong_key.invoke(with_canary_header(load("put.json"))), secrets))
    no_id = start(fake, TENCENTCLOUD_SECRETID=None)
    seen.append(("missing credentials", no_id.invoke(with_canary_header(load("put.json"))), SECRETS))
    bad_config = start(fake, MPS_IMAGE_TASK_FILE=None, MPS_IMAGE_TASK='{"EncodeConfig": {"Quality": 0}}')
    seen.append(("configuration refused", bad_config.invoke(with_canary_header(load("put.json"))), SECRETS))

    outcomes = {where: (inv.error.type if inv.error else "returned") for where, inv, _ in seen}
    assert outcomes == {
        "success": "returned",
        "retried": "returned",
        "duplicate": "returned",
        "permanent": "RecordsNotSubmittedError",
        "malformed record": "RecordsNotSubmittedError",
        "malformed event": "MalformedEventError",
        "retries exhausted": "RecordsNotSubmittedError",
        "signature failure": "RecordsNotSubmittedError",
        "missing credentials": "RecordsNotSubmittedError",
        "configuration refused": "ConfigurationError",
    }
    for where in ("permanent", "retries exhausted"):  # the echo reached the log, redacted: the check means something
        assert "echo key=*** token=*** auth=***" in {w: inv for w, inv, _ in seen}[where].stdout
    for where, inv, must_not_show in seen:
        text = inv.everything()
        for name, secret in must_not_show.items():
            assert secret not in text, f"the {name} leaked ({where}):\n{text[:3000]}"
    for c in (warm, wrong_key, no_id, bad_config):
        for name, secret in SECRETS.items():
            assert secret not in c.stderr(), f"the {name} leaked into the container's stderr"


# ---- the code directory: no bytecode, no writes, no imports from outside ---------------------------------------


def test_no_bytecode_or_any_other_file_is_written(start, fake_mps):
    container = start()
    container.invoke(load("batch.json")).returned()
    fake_mps.backend.inject(Fault.error("InternalError"), times=1)
    container.invoke(load("copy.json")).returned()
    container.invoke(load("non-image.json")).returned()
    container.invoke({"foo": 1}).raised("MalformedEventError")
    start(MPS_IMAGE_TASK_FILE="missing.json").invoke(load("put.json")).raised("ConfigurationError")
    report = container.inspect()
    assert report.new_files == []  # the shipped bytecode is all there is: none written at run time
    assert report.writes == {"package": [], "elsewhere": []}  # not even an attempt, anywhere


def test_the_package_imports_nothing_from_outside_itself(container):
    container.invoke(load("put.json")).returned()  # the first submission imports the MPS client lazily
    container.invoke({"foo": 1}).raised("MalformedEventError")
    report = container.inspect()
    assert report.outside == []  # every loaded module is the package's or the stdlib's
    assert "handler.index" in report.modules and "tencentcloud.common.common_client" in report.modules
    assert not [m for m in report.modules if m.startswith(("tencentcloud.mps", "qcloud_cos", "yaml", "autoenhance"))]


def test_the_guards_can_fail(container):
    """What the two tests above rely on: a write into the code directory fails (even as root), and
    what only site-packages could give cannot be imported."""
    assert container.selftest("pip") == {
        "write": "EROFS",
        "bytecode": "PermissionError",
        "import": "ModuleNotFoundError",
    }
    refused = {event for event, _ in container.inspect().writes["package"]}
    assert refused == {"open", "os.mkdir"}  # recorded: what test_no_bytecode... asserts is empty


# ---- the package itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", list(SCF_RUNTIMES), ids=lambda v: f"python{v}")
def test_the_built_package_ships_its_runtimes_bytecode_and_only_its_runtimes_extensions(scf_packages, version):
    """One unchecked-hash .pyc per module, with this runtime's magic number (SCF would otherwise compile
    every module at every cold start), and every compiled extension for this runtime's CPython."""
    built = scf_packages.get(version)
    magic = subprocess.run(
        [find_runtime(version).executable, "-I", "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    tag = f"cpython-{version.replace('.', '')}"
    sources = sorted(built.path.rglob("*.py"))
    assert sources
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        header = pyc.read_bytes()[:8]
        assert header[:4].hex() == magic, pyc
        assert int.from_bytes(header[4:8], "little") == 0b01, pyc  # PEP 552: hash-based, source never checked
    assert {p.name for p in built.path.rglob("*.pyc")} == {f"{s.stem}.{tag}.pyc" for s in sources}
    extension_tag = f".{tag}-x86_64-linux-gnu.so"
    extensions = [p.relative_to(built.path).as_posix() for p in built.path.rglob("*.so")]
    assert all(name.endswith((extension_tag, ".abi3.so")) for name in extensions), extensions
    assert (built.path / "index.py").is_file() and (built.path / "handler" / "index.py").is_file()


@pytest.mark.parametrize("version", list(SCF_RUNTIMES), ids=lambda v: f"python{v}")
def test_the_shipped_bytecode_is_what_runs_whatever_the_file_times(scf_packages, version, tmp_path):
    """Every handler source replaced by a line that raises, with new file times: the import still
    works, so the runtime ran the shipped bytecode and never read (or compiled) a source."""
    built = scf_packages.get(version)
    tree = tmp_path / "scf"
    shutil.copytree(built.path, tree, symlinks=True)
    for source in (tree / "handler").glob("*.py"):
        source.write_text("raise SystemExit('the source was compiled, not the shipped bytecode')\n")
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import index; print(index.main_handler.__module__)"
    run = subprocess.run(
        [find_runtime(version).executable, "-I", "-B", "-c", probe, str(tree)],
        capture_output=True, text=True, cwd=tree, check=False,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "handler.index", run.stdout + run.stderr


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_runtime_closure_holds_exactly_what_runs(container, package):
    """Every pinned dependency is imported by a submission, and nothing unpinned is needed (the
    package installs them --no-deps, and nothing is imported from outside the package)."""
    container.invoke(load("put.json")).returned()  # a submission loads everything the function needs
    report = container.inspect()
    top_level: dict[str, str] = {}
    for record in package.path.glob("*.dist-info/RECORD"):
        dist = _distribution(record.parent.name.split("-")[0])
        for line in record.read_text(encoding="utf-8").splitlines():
            top = line.split(",")[0].split("/")[0]
            if top and not top.endswith((".dist-info", ".pth")) and top != "..":
                top_level.setdefault(top.removesuffix(".py"), dist)
    pinned = {
        _distribution(line.split("==")[0])
        for line in (ROOT / "handler" / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    used = {top_level[m.split(".")[0]] for m in report.modules if m.split(".")[0] in top_level}
    assert used == pinned, f"imported: {sorted(used)}; pinned: {sorted(pinned)}"
    assert report.outside == []
