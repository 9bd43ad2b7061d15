"""One parser per environment variable the function reads (their names, and the check for
misspelt ones, are `handler/variable_names.py`'s).

Each parser reads one variable (or one group), appends what is wrong to `problems`, and returns
the value to use (a placeholder when it is wrong), so `handler/config.py`'s `load_settings` reports
every problem in one error. A RULES_FILE rule's task and outputs go through the same parsers, so
a rule is held to exactly a variable's rules and its problems read the same.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .errors import ImageTaskError, RegionError
from .image_task import DEFAULT_IMAGE_TASK, validate_image_task
from .outputs import SOURCE_NAME
from .regions import is_full_region, parse_code_overrides, region_slip

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

_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]*-[0-9]+")
_EXTENSION = re.compile(r"[A-Za-z0-9]+")


class Endpoint(NamedTuple):
    scheme: str  # http or https
    host: str  # host[:port], what the SDK calls the endpoint

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def parse_task(env: Mapping[str, str], base_dir: str, problems: list[str]) -> tuple[Any, int | None]:
    """(ImageTask, None) or (None, Definition): from MPS_IMAGE_TASK, MPS_IMAGE_TASK_FILE or MPS_DEFINITION."""
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
        raw = read_file(
            f"MPS_IMAGE_TASK_FILE={env['MPS_IMAGE_TASK_FILE']!r}", env["MPS_IMAGE_TASK_FILE"], base_dir, problems
        )
        if raw is None:
            return None, None
    if raw is None:
        return dict(DEFAULT_IMAGE_TASK), None
    return parse_image_task_json(raw, name, problems, env.get("MPS_IMAGE_TASK_FILE") or None), None


# Bounds on what configuration JSON may be, checked before anything walks it, so a hostile file
# costs at most one bounded read and one parse: a task or rules file is a few KB and a few levels
# deep (the ImageTask model nests about six), far inside both.
MAX_CONFIG_FILE_CHARS = 1 << 20
MAX_JSON_DEPTH = 32


def read_file(label: str, relative: str, base_dir: str, problems: list[str]) -> str | None:
    path = os.path.join(base_dir, relative)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_CONFIG_FILE_CHARS + 1)
    except OSError as exc:
        problems.append(f"{label}: cannot read {path}: {exc.strerror}")
        return None
    except ValueError as exc:  # not UTF-8 text (an editor's UTF-16), or a name no file can have (NUL, surrogate)
        problems.append(f"{label}: cannot read {path!r}: {exc}")
        return None
    if len(text) > MAX_CONFIG_FILE_CHARS:
        problems.append(f"{label}: {path} is over {MAX_CONFIG_FILE_CHARS} characters; a task or rules file is a few KB")
        return None
    return text


INVALID = object()  # what parse_json returns for text that is not usable JSON


def parse_json(raw: str, name: str, problems: list[str], source: str | None = None) -> Any:
    """Parsed JSON, refusing duplicate keys (JSON parsers keep the last one silently) and nesting
    deeper than MAX_JSON_DEPTH; `source` names the file the text came from, for the messages."""
    duplicates: list[str] = []
    where = f" in {source}" if source else ""

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj and key not in duplicates:
                duplicates.append(key)
            obj[key] = value
        return obj

    try:
        value = json.loads(raw, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        problems.append(f"{name}: not valid JSON{where} at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return INVALID
    except ValueError as exc:
        problems.append(f"{name}: not valid JSON{where} ({exc})")
        return INVALID
    except RecursionError:  # json.loads gives up on nesting deeper than the interpreter's stack
        value = INVALID
    if value is INVALID or _deeper_than(value, MAX_JSON_DEPTH):
        # Refused here, before any recursive walk (validation, the fingerprint, a repr) can overflow.
        problems.append(f"{name}: JSON{where} nested more than {MAX_JSON_DEPTH} levels deep")
        return INVALID
    if duplicates:
        problems.append(
            f"{name}: duplicate key {', '.join(map(repr, duplicates))} in the JSON{where}; keep one "
            "(JSON parsers keep the last one silently)"
        )
        return INVALID
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON `value` nests objects and arrays more than `limit` deep (no recursion: it may be deep)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def parse_image_task_json(raw: str, name: str, problems: list[str], source: str | None = None) -> dict[str, Any] | None:
    task = parse_json(raw, name, problems, source)
    return None if task is INVALID else parse_image_task(task, name, problems)


def parse_image_task(task: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        return validate_image_task(task, where=f"{name}: ImageTask", refuse_null=True)
    except ImageTaskError as exc:
        problems.extend(exc.problems)
        return None


def parse_endpoint(value: str | None, problems: list[str]) -> Endpoint:
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


def parse_output_bucket(env: Mapping[str, str], problems: list[str]) -> str | None:
    bucket = env.get("OUTPUT_BUCKET") or None
    if bucket and not _BUCKET.fullmatch(bucket):
        problems.append(
            f"OUTPUT_BUCKET={bucket!r}: must be the full bucket name <name>-<appid>, e.g. photos-1250000000"
        )
    return bucket


def parse_region(env: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    region = env.get(name) or None
    if region and not is_full_region(region):
        slip = region_slip(region)
        hint = f"; did you mean {slip!r}?" if slip else ""
        problems.append(f"{name}={region!r}: must be a full region name such as ap-guangzhou{hint}")
    return region


def parse_output_region(env: Mapping[str, str], problems: list[str]) -> str | None:
    region = parse_region(env, "OUTPUT_REGION", problems)
    if region and not env.get("OUTPUT_BUCKET"):
        problems.append(
            f"OUTPUT_REGION={region!r}: set OUTPUT_BUCKET too; without it outputs go to the uploaded "
            "object's own bucket, and a COS bucket exists in one region only, the input's"
        )
    return region


def parse_output_dir(value: str, name: str, problems: list[str]) -> str:
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


def parse_output_path(env: Mapping[str, str], problems: list[str]) -> str | None:
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


def parse_extensions(env: Mapping[str, str], problems: list[str]) -> frozenset[str]:
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


def parse_trigger_prefix(env: Mapping[str, str], problems: list[str]) -> str | None:
    """The COS trigger's prefix filter as a key prefix: COS keys have no leading '/'."""
    raw = env.get("TRIGGER_PREFIX") or ""
    if any(ord(c) < 32 or ord(c) == 127 for c in raw) or "\\" in raw:
        problems.append(
            f"TRIGGER_PREFIX={raw!r}: control characters and backslashes are not allowed; it is the COS "
            "trigger's prefix filter, e.g. uploads/"
        )
    return raw.lstrip("/") or None


def parse_region_codes(env: Mapping[str, str], problems: list[str]) -> Mapping[str, str]:
    try:
        return parse_code_overrides(env.get("COS_REGION_CODES", ""))
    except RegionError as exc:
        problems.append(str(exc))
        return {}


def parse_http_timeout(env: Mapping[str, str], problems: list[str]) -> float:
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


def parse_concurrency(env: Mapping[str, str], problems: list[str]) -> int:
    text = env.get("MPS_CONCURRENCY", "").strip()
    if not text:
        return DEFAULT_CONCURRENCY
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_CONCURRENCY:
        problems.append(f"MPS_CONCURRENCY={text!r}: must be a whole number of calls from 1 to {MAX_CONCURRENCY}")
        return DEFAULT_CONCURRENCY
    return int(text)


def parse_requests_per_second(env: Mapping[str, str], problems: list[str]) -> float:
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
