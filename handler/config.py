"""The function's configuration: read once per container from environment variables.

`load_settings(env)` is pure (a mapping in, a frozen `Settings` out) so the CLI's
check-config, the tests and the function all load it the same way. Every problem is
collected and reported together in one `ConfigurationError`, each line naming the variable,
the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .image_task import DEFAULT_IMAGE_TASK, ImageTaskError, validate_image_task
from .log import Redactor
from .outputs import SOURCE_NAME, loop_problems
from .regions import RegionError, is_full_region, parse_code_overrides
from .rules import RawRule, RuleMatch, parse_rules

# The formats MPS documents for images (ImageEncodeConfig.Format). MPS does not publish a
# separate input list, so other formats are opt-in through IMAGE_EXTENSIONS.
DEFAULT_EXTENSIONS = ("jpg", "jpeg", "png", "bmp", "webp")
DEFAULT_OUTPUT_DIR = "/enhanced/"
DEFAULT_ENDPOINT = "https://mps.tencentcloudapi.com"
DEFAULT_HTTP_TIMEOUT = 10.0
# Below a few round trips (~0.08 s each in-region) every call would time out; SCF's own limit is 900 s.
MIN_HTTP_TIMEOUT, MAX_HTTP_TIMEOUT = 0.2, 900.0
# A merged event's records go out this many at a time: at 80 ms a call, 2 keep up with 20/s;
# 4 leave room for slower answers. The pacer, not the workers, holds the rate.
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
DEFAULT_REQUESTS_PER_SECOND = 20.0  # ProcessImage's documented limit per account (docs/tencent-cloud.md#rate-limit)

KNOWN_VARIABLES = (
    "MPS_IMAGE_TASK",
    "MPS_IMAGE_TASK_FILE",
    "MPS_DEFINITION",
    "MPS_RESOURCE_ID",
    "MPS_REGION",
    "MPS_ENDPOINT",
    "MPS_TIMEOUT_SECONDS",
    "MPS_CONCURRENCY",
    "MPS_REQUESTS_PER_SECOND",
    "OUTPUT_BUCKET",
    "OUTPUT_REGION",
    "OUTPUT_DIR",
    "OUTPUT_PATH",
    "IMAGE_EXTENSIONS",
    "TRIGGER_PREFIX",
    "COS_REGION_CODES",
    "RULES_FILE",
)
# Prefixes of our variables: a misspelt one (MPS_IMAGETASK) must not silently fall back to defaults.
_OWN_PREFIXES = ("MPS_", "OUTPUT_")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]*-[0-9]+")
_EXTENSION = re.compile(r"[A-Za-z0-9]+")
_WORD = re.compile(r"[A-Z0-9]+")


def _words(name: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(name.upper()))


# The near-miss rule (see `_near_miss`), precomputed: it runs over the whole environment at every cold start.
_KNOWN_WORDS = {name: _words(name) for name in KNOWN_VARIABLES}
_KNOWN_SQUASHED = {"".join(words): name for name, words in _KNOWN_WORDS.items()}
_KNOWN_LEADING = frozenset(words[0] for words in _KNOWN_WORDS.values())
# A typo in the leading word is only looked for where that word is long enough to be unmistakable:
# one or two edits turn MPS into AWS, GPS or OPS, and those variables exist in the wild.
_LONG_WORD = 5
_KNOWN_TAILS = frozenset(words[1:] for words in _KNOWN_WORDS.values() if len(words[0]) >= _LONG_WORD)


class ConfigurationError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class Endpoint(NamedTuple):
    scheme: str  # http or https
    host: str  # host[:port], what the SDK calls the endpoint

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


class Rule(NamedTuple):
    """A rule of RULES_FILE, ready to plan with: a skip reason, or the settings its records get."""

    name: str
    match: RuleMatch
    skip: str | None  # a skip rule's reason
    settings: Settings | None = None  # a task rule's: the environment's, with its task and outputs


class Settings(NamedTuple):
    image_task: dict[str, Any] | None  # exactly one of image_task / definition is set
    definition: int | None
    resource_id: str | None
    output_bucket: str | None  # None: the uploaded object's own bucket
    output_region: str | None  # None: the output bucket is in the input's region
    output_dir: str  # root under which outputs mirror the input's directory, '/x/' form
    output_path: str | None
    mps_region: str | None
    endpoint: Endpoint
    http_timeout: float
    concurrency: int  # ProcessImage calls in flight at once for a merged event
    requests_per_second: float  # the pace of this container's ProcessImage calls
    extensions: frozenset[str]
    trigger_prefix: str | None
    region_codes: Mapping[str, str]
    fingerprint: str = ""  # digest of everything that shapes the task; part of each SessionId
    warnings: tuple[str, ...] = ()
    # Why uploads from OUTPUT_BUCKET itself cannot be served (its same-bucket loop problems), or ''.
    # Start-up cannot tell whether the trigger watches OUTPUT_BUCKET; a record from it proves it does.
    output_bucket_loop: str = ""
    rules: tuple[Rule, ...] = ()  # RULES_FILE's, in order; a record matching none gets these settings

    def rule_named(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def every_output(self) -> tuple[Settings, ...]:
        """These settings and every rule's: each one's output directory holds the function's outputs."""
        return (self, *(r.settings for r in self.rules if r.settings is not None))

    def task_fingerprint(self) -> str:
        effective = {
            "ImageTask": self.image_task,
            "Definition": self.definition,
            "ResourceId": self.resource_id,
            "OutputBucket": self.output_bucket,
            "OutputRegion": self.output_region,
            "OutputDir": self.output_dir,
            "OutputPath": self.output_path,
        }
        canonical = json.dumps(effective, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # surrogatepass: os.environ carries undecodable bytes as lone surrogates (surrogateescape).
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _clean_dir(value: str, name: str, problems: list[str]) -> str:
    """'/enhanced' or 'enhanced/' -> '/enhanced/'; refuse what could escape or template."""
    if any(ord(c) < 32 for c in value) or "{" in value:
        problems.append(f"{name}={value!r}: must be a plain directory such as /enhanced/")
    if "\\" in value:
        problems.append(
            f"{name}={value!r}: backslashes are not allowed; COS directories are separated by '/', e.g. /enhanced/"
        )
    parts = [p for p in value.split("/") if p]
    if any(p in (".", "..") for p in parts):
        problems.append(f"{name}={value!r}: '.' and '..' segments are not allowed")
    return "/" + "".join(p + "/" for p in parts)


def _load_task(env: Mapping[str, str], base_dir: str, problems: list[str]) -> tuple[Any, int | None]:
    sources = [n for n in ("MPS_IMAGE_TASK", "MPS_IMAGE_TASK_FILE", "MPS_DEFINITION") if env.get(n)]
    if len(sources) > 1:
        problems.append(f"set only one of {', '.join(sources)} (MPS does not document which would win)")
        return None, None
    if env.get("MPS_DEFINITION"):
        text = env["MPS_DEFINITION"].strip()
        # ASCII digits only: '❶'.isdigit() is True but int('❶') raises; ids fit in 18 digits.
        if not (text.isascii() and text.isdigit() and len(text) <= 18) or int(text) <= 0:
            problems.append(f"MPS_DEFINITION={text!r}: must be a positive integer template id")
            return None, None
        return None, int(text)
    name, raw = "MPS_IMAGE_TASK", env.get("MPS_IMAGE_TASK")
    if env.get("MPS_IMAGE_TASK_FILE"):
        name = "MPS_IMAGE_TASK_FILE"
        raw = _read_file(
            f"MPS_IMAGE_TASK_FILE={env['MPS_IMAGE_TASK_FILE']!r}", env["MPS_IMAGE_TASK_FILE"], base_dir, problems
        )
        if raw is None:
            return None, None
    if raw is None:
        return dict(DEFAULT_IMAGE_TASK), None
    return _image_task_json(raw, name, problems), None


def _read_file(label: str, relative: str, base_dir: str, problems: list[str]) -> str | None:
    path = os.path.join(base_dir, relative)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        problems.append(f"{label}: cannot read {path}: {exc.strerror}")
    except ValueError as exc:  # not UTF-8 text (an editor's UTF-16), or a name no file can have (NUL, surrogate)
        problems.append(f"{label}: cannot read {path!r}: {exc}")
    return None


_INVALID = object()  # what _json returns for text that is not usable JSON


def _json(raw: str, name: str, problems: list[str]) -> Any:
    """Parsed JSON, refusing duplicate keys (JSON parsers keep the last one silently)."""
    duplicates: list[str] = []

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj and key not in duplicates:
                duplicates.append(key)
            obj[key] = value
        return obj

    try:
        value = json.loads(raw, object_pairs_hook=unique_keys)
    except ValueError as exc:
        problems.append(f"{name}: not valid JSON ({exc})")
        return _INVALID
    except RecursionError:  # json.loads gives up on nesting deeper than the interpreter's stack
        problems.append(f"{name}: JSON nested too deeply")
        return _INVALID
    if duplicates:
        problems.append(
            f"{name}: duplicate key {', '.join(map(repr, duplicates))} in the JSON; keep one "
            "(JSON parsers keep the last one silently)"
        )
        return _INVALID
    return value


def _image_task_json(raw: str, name: str, problems: list[str]) -> dict[str, Any] | None:
    task = _json(raw, name, problems)
    return None if task is _INVALID else _image_task(task, name, problems)


def _image_task(task: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        return validate_image_task(task, where=f"{name}: ImageTask", refuse_null=True)
    except ImageTaskError as exc:
        problems.extend(exc.problems)
        return None


def _endpoint(value: str | None, problems: list[str]) -> Endpoint:
    text = value or DEFAULT_ENDPOINT
    example = "must be a URL such as https://mps.tencentcloudapi.com or http://127.0.0.1:9000"
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed IPv6 bracket
        problems.append(f"MPS_ENDPOINT={value!r}: {example}")
        return Endpoint("https", "")
    host = parts.netloc.rpartition("@")[2]
    shown: str | None = value
    if "@" in text:
        # Never echoed: the user name and password are credentials (check-config prints the URL).
        # Cut at the last '@' of the text, not of the parsed netloc: a password may hold '#', '?' or '/'.
        scheme, sep, _ = text.partition("://")
        shown = (scheme + sep if sep else "") + "***@" + text.rpartition("@")[2]
        problems.append(
            f"MPS_ENDPOINT={shown!r}: must not contain a user name or password; requests are signed with "
            "the execution role's keys"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        problems.append(f"MPS_ENDPOINT={shown!r}: {example}")
    if "?" in text or "#" in text:
        problems.append(
            f"MPS_ENDPOINT={shown!r}: must not have a query (?...) or fragment (#...): "
            "only scheme, host and port are used, the rest would be dropped silently"
        )
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = 0
    if port == 0 or host.endswith(":"):
        problems.append(f"MPS_ENDPOINT={shown!r}: the port must be a number from 1 to 65535")
    return Endpoint(parts.scheme or "https", parts.netloc)


# Each parser reads one variable (or one group), appends what is wrong to `problems`, and returns
# the value to use (a placeholder when it is wrong: every problem is reported in one error).


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (an edit: a letter missing, added, changed, or two swapped),
    or limit + 1 once it is certain to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return min(previous[-1], limit + 1)


def _near_miss(name: str) -> str | None:
    """The variable we read that `name` is a slip of, or None.

    The function's environment is mostly SCF's and the runtime's (SCF_*, TENCENTCLOUD_*, PATH, ...),
    so a name only counts as a slip when, compared by its words (upper-cased, split at anything
    but A-Z and 0-9), it either
    - has exactly our words: the same name but for case or separators (image_extensions); or
    - shares our leading word and is within two edits of ours (IMAGE_EXTENSION, TRIGGER_PREFX,
      COS_REGION_CODE); or
    - where our leading word has five letters or more, shares all our words after it and is within
      one edit of ours (TRIGER_PREFIX, OUPUT_DIR).
    So every name it can match starts with the word MPS, OUTPUT, IMAGE, TRIGGER or COS, or is
    OUTPUT_<BUCKET|REGION|DIR|PATH>, IMAGE_EXTENSIONS or TRIGGER_PREFIX with one letter of the
    first word wrong: none of SCF's, the runtime's or a shell's usual variables.
    """
    words = _words(name)
    if not words:
        return None
    squashed = "".join(words)
    if squashed in _KNOWN_SQUASHED:
        return _KNOWN_SQUASHED[squashed]
    if words[0] not in _KNOWN_LEADING and words[1:] not in _KNOWN_TAILS:
        return None  # the common case, SCF's and the shell's variables: no distance computed
    best, fewest = None, 3
    for known, known_words in _KNOWN_WORDS.items():
        leading = known_words[0]
        if words[0] == leading:
            limit = 2
        elif len(leading) >= _LONG_WORD and words[1:] == known_words[1:]:
            limit = 1  # two edits turn IMAGE into STAGE, OUTPUT into OUTLET
        else:
            continue
        edits = _edits(squashed, "".join(known_words), limit)
        if edits <= limit and edits < fewest:
            best, fewest = known, edits
    return best


def _unknown_variables(env: Mapping[str, str], problems: list[str]) -> None:
    for name in sorted(env):
        if name in KNOWN_VARIABLES:
            continue
        near = _near_miss(name)
        if near:
            problems.append(f"{name}: unknown variable; did you mean {near}?")
        elif name.startswith(_OWN_PREFIXES):
            import difflib  # only on this error path

            close = difflib.get_close_matches(name, KNOWN_VARIABLES, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(KNOWN_VARIABLES)}"
            problems.append(f"{name}: unknown variable; {hint}")


def _load_rules(
    relative: str, base_dir: str, base: Settings, watched_bucket: str | None, problems: list[str]
) -> tuple[Rule, ...]:
    raw = _read_file(f"RULES_FILE={relative!r}", relative, base_dir, problems)
    doc = _INVALID if raw is None else _json(raw, "RULES_FILE", problems)
    if doc is _INVALID:
        return ()
    parsed, rule_problems = parse_rules(doc, "RULES_FILE")
    problems.extend(rule_problems)
    return tuple(_rule(r, base_dir, base, watched_bucket, problems) for r in parsed)


def _rule(raw: RawRule, base_dir: str, base: Settings, watched_bucket: str | None, problems: list[str]) -> Rule:
    """One rule's settings: the environment's, with the rule's task and outputs, checked as the environment's are."""
    where = f"RULES_FILE: rule {raw.name}"
    if raw.action == "skip":
        return Rule(raw.name, raw.match, str(raw.value).strip())
    image_task: dict[str, Any] | None = None
    definition: int | None = None
    if raw.action == "image_task":
        image_task = _image_task(raw.value, f"{where}: image_task", problems)
    elif raw.action == "image_task_file":
        if not isinstance(raw.value, str) or not raw.value:
            problems.append(f"{where}: image_task_file: {raw.value!r}: must be a file name relative to the code root")
        else:
            text = _read_file(f"{where}: image_task_file={raw.value!r}", raw.value, base_dir, problems)
            image_task = None if text is None else _image_task_json(text, f"{where}: image_task_file", problems)
    elif isinstance(raw.value, int) and not isinstance(raw.value, bool) and 0 < raw.value < 10**18:
        definition = raw.value
    else:
        problems.append(f"{where}: definition: {raw.value!r}: must be a positive integer template id")
    out, variables = raw.output, {"bucket": "OUTPUT_BUCKET", "region": "OUTPUT_REGION", "path": "OUTPUT_PATH"}
    # The environment's parsers, so a rule's value is held to exactly the variable's rules and words.
    env = {variables[k]: v for k, v in out.items() if k in variables}
    if "region" in out and "bucket" not in out and base.output_bucket:
        env["OUTPUT_BUCKET"] = base.output_bucket
    found: list[str] = []
    bucket = _output_bucket(env, found) if "bucket" in out else base.output_bucket
    region = _output_region(env, found) if "region" in out else (base.output_region if "bucket" not in out else None)
    path = _output_path(env, found) if "path" in out else base.output_path
    directory = _clean_dir(out["dir"], "output.dir", found) if "dir" in out else base.output_dir
    for name, variable in variables.items():
        found = [p.replace(f"{variable}=", f"output.{name}=") for p in found]
    settings = base._replace(
        image_task=image_task, definition=definition, output_bucket=bucket, output_region=region,
        output_dir=directory, output_path=path,
    )  # fmt: skip
    found += loop_problems(settings, watched_bucket)
    problems.extend(f"{where}: {p}" for p in found)
    own_bucket_loop = "; ".join(loop_problems(settings, bucket)) if bucket else ""
    settings = settings._replace(fingerprint=settings.task_fingerprint(), output_bucket_loop=own_bucket_loop)
    return Rule(raw.name, raw.match, None, settings)


def _output_bucket(env: Mapping[str, str], problems: list[str]) -> str | None:
    bucket = env.get("OUTPUT_BUCKET") or None
    if bucket and not _BUCKET.fullmatch(bucket):
        problems.append(
            f"OUTPUT_BUCKET={bucket!r}: must be the full bucket name <name>-<appid>, e.g. photos-1250000000"
        )
    return bucket


def _full_region(env: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    region = env.get(name) or None
    if region and not is_full_region(region):
        problems.append(f"{name}={region!r}: must be a full region name such as ap-guangzhou")
    return region


def _output_region(env: Mapping[str, str], problems: list[str]) -> str | None:
    region = _full_region(env, "OUTPUT_REGION", problems)
    if region and not env.get("OUTPUT_BUCKET"):
        problems.append(
            f"OUTPUT_REGION={region!r}: set OUTPUT_BUCKET too; without it outputs go to the uploaded "
            "object's own bucket, and a COS bucket exists in one region only, the input's"
        )
    return region


def _output_path(env: Mapping[str, str], problems: list[str]) -> str | None:
    path = env.get("OUTPUT_PATH") or None
    if path is not None:
        if not path.endswith(".{format}"):
            problems.append(
                f"OUTPUT_PATH={path!r}: MPS requires it to end with .{{format}}, e.g. {{inputName}}.{{inputFormat}}_hd.{{format}}"
            )
        if SOURCE_NAME not in path:
            problems.append(
                f"OUTPUT_PATH={path!r}: must contain {SOURCE_NAME} (the source's file name), or two images of "
                "a directory can share one output (a.jpg and a.png, or every image without {inputName}); "
                "e.g. {inputName}.{inputFormat}_hd.{format}"
            )
        unknown = sorted(set(re.findall(r"\{[^{}]*\}", path)) - {"{inputName}", "{inputFormat}", "{format}"})
        if unknown:
            problems.append(
                f"OUTPUT_PATH={path!r}: {', '.join(unknown)}: only {{inputName}}, {{inputFormat}} and {{format}} are "
                "filled in (the function names the output itself, so it stays predictable)"
            )
        if path.startswith("/"):
            problems.append(
                f"OUTPUT_PATH={path!r}: must be relative to the output directory: an absolute path puts the "
                "outputs of every directory in one, where a/x.jpg and b/x.jpg share one output"
            )
        if ".." in path.split("/") or any(ord(c) < 32 for c in path):
            problems.append(f"OUTPUT_PATH={path!r}: '..' segments and control characters are not allowed")
        if "\\" in path:
            problems.append(f"OUTPUT_PATH={path!r}: backslashes are not allowed; COS directories are separated by '/'")
    return path


def _extensions(env: Mapping[str, str], problems: list[str]) -> frozenset[str]:
    raw = env.get("IMAGE_EXTENSIONS")
    if not raw:
        return frozenset(DEFAULT_EXTENSIONS)
    listed = [e.strip() for e in raw.split(",")]
    listed = [e.removeprefix(".") for e in listed if e]
    bad = [e for e in listed if not _EXTENSION.fullmatch(e)]
    if bad:
        # The value read as words split by whatever separated them. Only for what looks like a list of
        # extensions: a secret pasted here is redacted whole, but not once split up and lowercased.
        # A non-ASCII letter would be dropped, not fixed.
        words = [w.lower() for w in _EXTENSION.findall(raw)] if raw.isascii() and len(raw) <= 100 else []
        if not words or len(words) > 12 or max(map(len, words)) > 10:
            words = []
        fix = f"IMAGE_EXTENSIONS={','.join(dict.fromkeys(words))}" if words else "e.g. jpg,png"
        wildcard = " ('*' is no wildcard: name each extension)" if any("*" in e for e in bad) else ""
        problems.append(
            f"IMAGE_EXTENSIONS={raw!r}: {', '.join(map(repr, bad))} is not an extension; separate extensions "
            f"with commas, each letters and digits only{wildcard}: {fix}"
        )
    elif not listed:
        problems.append(f"IMAGE_EXTENSIONS={raw!r}: list at least one extension, e.g. jpg,png")
    return frozenset(e.lower() for e in listed) or frozenset(DEFAULT_EXTENSIONS)


def _trigger_prefix(env: Mapping[str, str], problems: list[str]) -> str | None:
    """The COS trigger's prefix filter as a key prefix: COS keys have no leading '/'."""
    raw = env.get("TRIGGER_PREFIX") or ""
    if any(ord(c) < 32 or ord(c) == 127 for c in raw) or "\\" in raw:
        problems.append(
            f"TRIGGER_PREFIX={raw!r}: control characters and backslashes are not allowed; it is the COS "
            "trigger's prefix filter, e.g. uploads/"
        )
    return raw.lstrip("/") or None


def _region_codes(env: Mapping[str, str], problems: list[str]) -> Mapping[str, str]:
    try:
        return parse_code_overrides(env.get("COS_REGION_CODES", ""))
    except RegionError as exc:
        problems.append(str(exc))
        return {}


def _http_timeout(env: Mapping[str, str], problems: list[str]) -> float:
    text = env.get("MPS_TIMEOUT_SECONDS", "")
    if not text:
        return DEFAULT_HTTP_TIMEOUT
    try:
        seconds = float(text)
        if not MIN_HTTP_TIMEOUT <= seconds <= MAX_HTTP_TIMEOUT:  # also false for nan
            raise ValueError
    except ValueError:
        problems.append(
            f"MPS_TIMEOUT_SECONDS={text!r}: must be a number of seconds from {MIN_HTTP_TIMEOUT:g} to "
            f"{MAX_HTTP_TIMEOUT:g} (a shorter limit times out every call)"
        )
        return DEFAULT_HTTP_TIMEOUT
    return seconds


def _concurrency(env: Mapping[str, str], problems: list[str]) -> int:
    text = env.get("MPS_CONCURRENCY", "").strip()
    if not text:
        return DEFAULT_CONCURRENCY
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_CONCURRENCY:
        problems.append(f"MPS_CONCURRENCY={text!r}: must be a whole number of calls from 1 to {MAX_CONCURRENCY}")
        return DEFAULT_CONCURRENCY
    return int(text)


def _requests_per_second(env: Mapping[str, str], problems: list[str]) -> float:
    text = env.get("MPS_REQUESTS_PER_SECOND", "").strip()
    if not text:
        return DEFAULT_REQUESTS_PER_SECOND
    try:
        rate = float(text)
        if not 0.1 <= rate <= 1000:
            raise ValueError
    except ValueError:
        problems.append(
            f"MPS_REQUESTS_PER_SECOND={text!r}: must be a number from 0.1 to 1000 (MPS allows 20 per account "
            "unless your quota was raised)"
        )
        return DEFAULT_REQUESTS_PER_SECOND
    return rate


def load_settings(env: Mapping[str, str], base_dir: str | None = None, watched_bucket: str | None = None) -> Settings:
    """Parse and validate; `base_dir` anchors a relative MPS_IMAGE_TASK_FILE (default: code root).

    `watched_bucket`, when known (the deploy check knows the trigger's), is the bucket the trigger
    watches: an OUTPUT_BUCKET naming it gets the same loop checks as no OUTPUT_BUCKET at all.
    """
    problems: list[str] = []
    base_dir = base_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _unknown_variables(env, problems)
    image_task, definition = _load_task(env, base_dir, problems)
    settings = Settings(
        image_task=image_task,
        definition=definition,
        resource_id=env.get("MPS_RESOURCE_ID") or None,
        output_bucket=_output_bucket(env, problems),
        output_region=_output_region(env, problems),
        output_dir=_clean_dir(env.get("OUTPUT_DIR", DEFAULT_OUTPUT_DIR), "OUTPUT_DIR", problems),
        output_path=_output_path(env, problems),
        mps_region=_full_region(env, "MPS_REGION", problems),
        endpoint=_endpoint(env.get("MPS_ENDPOINT"), problems),
        http_timeout=_http_timeout(env, problems),
        concurrency=_concurrency(env, problems),
        requests_per_second=_requests_per_second(env, problems),
        extensions=_extensions(env, problems),
        trigger_prefix=_trigger_prefix(env, problems),
        region_codes=_region_codes(env, problems),
    )
    problems.extend(loop_problems(settings, watched_bucket))
    if env.get("RULES_FILE"):
        rules = _load_rules(env["RULES_FILE"], base_dir, settings, watched_bucket, problems)
        settings = settings._replace(rules=rules)
    if problems:
        # Problems quote values; a secret pasted into the wrong variable must not be echoed back.
        secrets = [env.get(n) or "" for n in ("TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")]
        redact = Redactor([*secrets, *(s.strip() for s in secrets)])
        raise ConfigurationError([redact(p) for p in problems])
    warnings: list[str] = []
    own_bucket_loop = "; ".join(loop_problems(settings, settings.output_bucket)) if settings.output_bucket else ""
    return settings._replace(
        fingerprint=settings.task_fingerprint(), warnings=tuple(warnings), output_bucket_loop=own_bucket_loop
    )
