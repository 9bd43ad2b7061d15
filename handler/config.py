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
from .outputs import loop_problems
from .regions import RegionError, is_full_region, parse_code_overrides

# The formats MPS documents for images (ImageEncodeConfig.Format). MPS does not publish a
# separate input list, so other formats are opt-in through IMAGE_EXTENSIONS.
DEFAULT_EXTENSIONS = ("jpg", "jpeg", "png", "bmp", "webp")
DEFAULT_OUTPUT_DIR = "/enhanced/"
DEFAULT_ENDPOINT = "https://mps.tencentcloudapi.com"
DEFAULT_HTTP_TIMEOUT = 10.0

KNOWN_VARIABLES = (
    "MPS_IMAGE_TASK",
    "MPS_IMAGE_TASK_FILE",
    "MPS_DEFINITION",
    "MPS_RESOURCE_ID",
    "MPS_REGION",
    "MPS_ENDPOINT",
    "MPS_TIMEOUT_SECONDS",
    "OUTPUT_BUCKET",
    "OUTPUT_REGION",
    "OUTPUT_DIR",
    "OUTPUT_PATH",
    "IMAGE_EXTENSIONS",
    "TRIGGER_PREFIX",
    "COS_REGION_CODES",
)
# Prefixes of our variables: a misspelt one (MPS_IMAGETASK) must not silently fall back to defaults.
_OWN_PREFIXES = ("MPS_", "OUTPUT_")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]*-[0-9]+")


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
    extensions: frozenset[str]
    trigger_prefix: str | None
    region_codes: Mapping[str, str]
    fingerprint: str = ""  # digest of everything that shapes the task; part of each SessionId
    warnings: tuple[str, ...] = ()

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
        path = os.path.join(base_dir, env["MPS_IMAGE_TASK_FILE"])
        try:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
        except OSError as exc:
            problems.append(f"MPS_IMAGE_TASK_FILE={env['MPS_IMAGE_TASK_FILE']!r}: cannot read {path}: {exc.strerror}")
            return None, None
        except ValueError as exc:  # not UTF-8 text (an editor's UTF-16), or a name no file can have (NUL, surrogate)
            problems.append(f"MPS_IMAGE_TASK_FILE={env['MPS_IMAGE_TASK_FILE']!r}: cannot read {path!r}: {exc}")
            return None, None
    if raw is None:
        return dict(DEFAULT_IMAGE_TASK), None
    try:
        task = json.loads(raw)
    except ValueError as exc:
        problems.append(f"{name}: not valid JSON ({exc})")
        return None, None
    except RecursionError:  # json.loads gives up on nesting deeper than the interpreter's stack
        problems.append(f"{name}: JSON nested too deeply to be an ImageTask")
        return None, None
    try:
        return validate_image_task(task, where=f"{name}: ImageTask"), None
    except ImageTaskError as exc:
        problems.extend(exc.problems)
        return None, None


def _endpoint(value: str | None, problems: list[str]) -> Endpoint:
    parts = urlsplit(value or DEFAULT_ENDPOINT)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        problems.append(
            f"MPS_ENDPOINT={value!r}: must be a URL such as https://mps.tencentcloudapi.com or http://127.0.0.1:9000"
        )
    return Endpoint(parts.scheme or "https", parts.netloc)


def load_settings(env: Mapping[str, str], base_dir: str | None = None) -> Settings:
    """Parse and validate; `base_dir` anchors a relative MPS_IMAGE_TASK_FILE (default: code root)."""
    problems: list[str] = []
    warnings: list[str] = []
    base_dir = base_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    for name in sorted(env):
        if name.startswith(_OWN_PREFIXES) and name not in KNOWN_VARIABLES:
            import difflib  # only on this error path

            close = difflib.get_close_matches(name, KNOWN_VARIABLES, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(KNOWN_VARIABLES)}"
            problems.append(f"{name}: unknown variable; {hint}")

    image_task, definition = _load_task(env, base_dir, problems)

    output_bucket = env.get("OUTPUT_BUCKET") or None
    if output_bucket and not _BUCKET.fullmatch(output_bucket):
        problems.append(
            f"OUTPUT_BUCKET={output_bucket!r}: must be the full bucket name <name>-<appid>, e.g. photos-1250000000"
        )
    regions = {n: env.get(n) or None for n in ("OUTPUT_REGION", "MPS_REGION")}
    for name, region in regions.items():
        if region and not is_full_region(region):
            problems.append(f"{name}={region!r}: must be a full region name such as ap-guangzhou")

    output_dir = _clean_dir(env.get("OUTPUT_DIR", DEFAULT_OUTPUT_DIR), "OUTPUT_DIR", problems)
    output_path = env.get("OUTPUT_PATH") or None
    if output_path is not None:
        if not output_path.endswith(".{format}"):
            problems.append(
                f"OUTPUT_PATH={output_path!r}: MPS requires it to end with .{{format}}, e.g. {{inputName}}_hd.{{format}}"
            )
        if ".." in output_path.split("/") or any(ord(c) < 32 for c in output_path):
            problems.append(f"OUTPUT_PATH={output_path!r}: '..' segments and control characters are not allowed")

    raw_ext = env.get("IMAGE_EXTENSIONS")
    extensions = frozenset(
        e.strip().lstrip(".").lower() for e in (raw_ext.split(",") if raw_ext else DEFAULT_EXTENSIONS) if e.strip()
    )
    if not extensions:
        problems.append(f"IMAGE_EXTENSIONS={raw_ext!r}: list at least one extension, e.g. jpg,png")

    try:
        region_codes = parse_code_overrides(env.get("COS_REGION_CODES", ""))
    except RegionError as exc:
        problems.append(str(exc))
        region_codes = {}

    timeout_text = env.get("MPS_TIMEOUT_SECONDS", "")
    http_timeout = DEFAULT_HTTP_TIMEOUT
    if timeout_text:
        try:
            http_timeout = float(timeout_text)
            if not 0 < http_timeout <= 900:
                raise ValueError
        except ValueError:
            problems.append(f"MPS_TIMEOUT_SECONDS={timeout_text!r}: must be a number of seconds in (0, 900]")

    settings = Settings(
        image_task=image_task,
        definition=definition,
        resource_id=env.get("MPS_RESOURCE_ID") or None,
        output_bucket=output_bucket,
        output_region=regions["OUTPUT_REGION"],
        output_dir=output_dir,
        output_path=output_path,
        mps_region=regions["MPS_REGION"],
        endpoint=_endpoint(env.get("MPS_ENDPOINT"), problems),
        http_timeout=http_timeout,
        extensions=extensions,
        trigger_prefix=env.get("TRIGGER_PREFIX") or None,
        region_codes=region_codes,
    )
    problems.extend(loop_problems(settings))
    if problems:
        # Problems quote values; a secret pasted into the wrong variable must not be echoed back.
        secrets = [env.get(n) or "" for n in ("TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")]
        redact = Redactor([*secrets, *(s.strip() for s in secrets)])
        raise ConfigurationError([redact(p) for p in problems])
    if settings.output_path and settings.output_path.startswith("/"):
        warnings.append(
            "OUTPUT_PATH is absolute: every output lands in one directory, so two inputs with the same "
            "file name in different directories overwrite each other's output"
        )
    return settings._replace(fingerprint=settings.task_fingerprint(), warnings=tuple(warnings))
