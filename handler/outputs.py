"""Where a record's output goes, and which keys are the function's own outputs.

One module decides every output location question, so the function, check-config, the deploy
check and backfill cannot disagree:

- `output_location`: the bucket, region and OutputDir/OutputPath a record's request carries;
- `predicted_output_key`: the key MPS will write (for backfill's "output exists" check);
- `guard_prefix` / `is_own_output`: the loop guard, so an output never becomes a new task;
- `loop_problems` (refused at start-up, and failed at run time for records from an OUTPUT_BUCKET
  that turns out to be watched) and `retrigger_warning` (costs invocations, warned).

MPS writes `OutputPath` under `OutputDir`, in the output bucket (docs/tencent-cloud.md#output-naming).
The function mirrors the input's directory under OUTPUT_DIR, so `a/b/c.jpg` goes to
`/enhanced/a/b/`, and names the output itself: MPS's own default, `{inputName}.{format}`, gives
`a.jpg` and `a.png` one output. The name the function sends is the template (OUTPUT_PATH, or
`{inputName}.{inputFormat}.{format}`) rendered with the source's file name, so only `{format}`
is left to MPS: `c.jpg` becomes `c.jpg.jpeg`, and two sources never share an output.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, NamedTuple

from .errors import OutputKeyTooLongError, UnsafeKeyError

if TYPE_CHECKING:  # config.py imports this module, so Settings is imported for the type checker only
    from .config import Settings


class OutputLocation(NamedTuple):
    bucket: str
    region: str
    output_dir: str  # OutputDir as sent: OUTPUT_DIR + the input's directory
    output_path: str | None  # OutputPath as sent (None: MPS's default name)


MAX_KEY_BYTES = 850  # COS's limit on an object key, in UTF-8 bytes (docs/tencent-cloud.md#output-naming)
# {format} when a template (Definition) decides it: as long as the longest MPS writes (jpeg, webp).
LONGEST_FORMAT = "xxxx"
DEFAULT_NAME = "{inputName}.{inputFormat}.{format}"
SOURCE_NAME = "{inputName}.{inputFormat}"  # together they are the source's file name: what keeps names apart
# MPS's file-name variables (docs/tencent-cloud.md#output-naming): a file name holding one would be
# rendered by MPS, not kept as written.
MPS_VARIABLES = (
    "{inputName}",
    "{inputFormat}",
    "{format}",
    "{definition}",
    "{number}",
    "{taskId}",
    "{rand}",
    "{streamId}",
)


def split_file_name(filename: str) -> tuple[str, str]:
    """'a.b.jpg' -> ('a.b', 'jpg'); 'photo' -> ('photo', ''): MPS's {inputName} and {inputFormat}."""
    stem, dot, extension = filename.rpartition(".")
    return (stem, extension) if dot else (filename, "")


def render_output_name(template: str, filename: str) -> str:
    """The OutputPath to send for a source named `filename`: every variable but {format} filled in.

    `{inputName}.{inputFormat}` is the file name itself (so `photo`, without an extension, stays `photo`).
    """
    stem, extension = split_file_name(filename)
    rendered = template.replace(SOURCE_NAME, "\0")
    rendered = rendered.replace("{inputName}", stem).replace("{inputFormat}", extension)
    return rendered.replace("\0", filename)


def guard_prefix(s: Settings) -> str:
    """Key prefix (no leading '/') under which this function's outputs land in the output bucket.

    OUTPUT_PATH is always relative (variables.py refuses an absolute one), so that is OUTPUT_DIR.
    """
    return s.output_dir.lstrip("/")


def is_own_output(bucket: str, key: str, s: Settings) -> bool:
    """An object the function wrote: submitting it would loop (one task per output, forever)."""
    guard = guard_prefix(s)
    return bool(guard) and bucket == (s.output_bucket or bucket) and key.startswith(guard)


def writes_next_to_sources(bucket: str, s: Settings) -> bool:
    """Output in the input's own bucket with no output directory: every output re-triggers."""
    return guard_prefix(s) == "" and (s.output_bucket or bucket) == bucket


def output_dir_for(key: str, s: Settings) -> str:
    """OUTPUT_DIR + the input's directory exactly as in the key, e.g. 'a/b/c.jpg' -> '/enhanced/a/b/'.

    Empty segments are kept: `a//c.jpg` and `a/c.jpg` are two objects, so their outputs are two.
    """
    parts = key.split("/")[:-1]
    if any(p in (".", "..") for p in parts):
        raise UnsafeKeyError(f"key {key!r} has '.' or '..' path segments; its output could leave {s.output_dir}")
    return s.output_dir + "".join(p + "/" for p in parts)


def output_location(bucket: str, region: str, key: str, s: Settings) -> OutputLocation:
    """Where the record's output goes; refuses a key whose output could not be written as sent."""
    filename = posixpath.basename(key)
    if any(variable in filename for variable in MPS_VARIABLES):
        raise UnsafeKeyError(f"key {key!r} holds an MPS file-name variable: MPS would rename its output")
    where = OutputLocation(
        bucket=s.output_bucket or bucket,
        region=s.output_region or region,
        output_dir=output_dir_for(key, s),
        output_path=render_output_name(s.output_path or DEFAULT_NAME, filename),
    )
    longest = _output_key(where, _output_format(filename, s) or LONGEST_FORMAT)
    if len(longest.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise OutputKeyTooLongError(
            f"key {key!r}: its output key would be {len(longest.encode('utf-8', 'surrogatepass'))} bytes, over COS's "
            f"{MAX_KEY_BYTES}-byte limit ({longest!r}); shorten OUTPUT_DIR or OUTPUT_PATH, or the source's name"
        )
    return where


def _output_format(filename: str, s: Settings) -> str | None:
    """MPS's {format}: the lowercased EncodeConfig.Format, else the input's extension; None with a template."""
    if s.definition is not None or s.image_task is None:
        return None
    extension = split_file_name(filename)[1]
    return str((s.image_task.get("EncodeConfig") or {}).get("Format") or extension).lower()


def _output_key(where: OutputLocation, fmt: str) -> str:
    rendered = (where.output_path or "").replace("{format}", fmt)
    path = rendered if rendered.startswith("/") else where.output_dir + rendered
    return path.lstrip("/")


def predicted_output_key(bucket: str, region: str, key: str, s: Settings) -> str | None:
    """The key MPS will write this object's output to, when the configuration determines it.

    None when the format depends on a template (Definition). {format} is the lowercased
    EncodeConfig.Format, else the input's own extension.
    """
    fmt = _output_format(posixpath.basename(key), s)
    if fmt is None:
        return None
    try:
        return _output_key(output_location(bucket, region, key, s), fmt)
    except (UnsafeKeyError, OutputKeyTooLongError):
        return None


def loop_problems(s: Settings, watched_bucket: str | None = None) -> list[str]:
    """Configurations that would re-trigger the function without end, or skip every upload.

    They are checked when outputs go to the watched bucket: no OUTPUT_BUCKET, or one equal to
    `watched_bucket` (the trigger's bucket, when the caller knows it).
    """
    if s.output_bucket is None:
        because = ""
    elif s.output_bucket == watched_bucket:
        because = f"OUTPUT_BUCKET={s.output_bucket!r} is the watched bucket itself, so "
    else:
        return []
    problems: list[str] = []
    guard = guard_prefix(s)
    if guard == "":
        problems.append(
            because + "output would land next to the uploaded images in the same bucket: each output would "
            "trigger the function again (and may overwrite its source). Set OUTPUT_DIR to a "
            "directory such as /enhanced/ (outputs there are skipped), or OUTPUT_BUCKET to another bucket"
        )
    prefix = s.trigger_prefix
    if guard and prefix is not None and prefix.startswith(guard):
        problems.append(
            because + f"TRIGGER_PREFIX={prefix!r} lies inside the output directory /{guard}: every upload the "
            "trigger delivers would be skipped as the function's own output. Move OUTPUT_DIR outside "
            "the trigger prefix or write to another OUTPUT_BUCKET"
        )
    return problems


def retriggers(s: Settings, trigger_prefix: str | None) -> bool:
    """Outputs land where a trigger with this prefix fires: skipped, but one invocation each."""
    return s.output_bucket is None and guard_prefix(s).startswith(trigger_prefix or "")


def retrigger_warning(s: Settings) -> str | None:
    """check-config's warning when outputs re-trigger the function (TRIGGER_PREFIX as the trigger's)."""
    if not retriggers(s, s.trigger_prefix):
        return None
    return (
        f"outputs under /{guard_prefix(s)} are in the watched bucket"
        + ("" if s.trigger_prefix is None else f" and inside TRIGGER_PREFIX={s.trigger_prefix!r}")
        + ": each output re-triggers the function, which skips it (one wasted invocation per image). "
        "Give the COS trigger a prefix filter that excludes the output directory (and set TRIGGER_PREFIX "
        "to the same value), or write to another OUTPUT_BUCKET"
    )
