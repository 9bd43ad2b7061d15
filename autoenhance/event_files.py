"""Read events the way developers have them: files, directories, stdin, dead-letter exports.

A file holds one JSON value, or one per line (JSON lines). Each value may be:

- a COS trigger event, given to the function as it is;
- an SCF dead-letter message, an envelope whose `Body.ClientContext` is the invocation payload
  as a JSON string (docs/tencent-cloud.md#dead-letter-queue): the payload is unwrapped and
  labelled with the envelope's RequestId;
- the answer of TDMQ for CMQ's ReceiveMessage / BatchReceiveMessage (`msgBody`, or a
  `msgInfoList` of them), each message body holding one of the above;
- a JSON array of any of these.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .file_kinds import file_looks_like


class EventFileError(ValueError):
    """A path that does not exist or does not hold usable JSON (a usage error: exit code 2)."""


@dataclass(frozen=True)
class SourcedEvent:
    source: str  # 'events/put.json', 'dlq.jsonl:3 (dead-lettered request ...)', shown next to results
    event: Any  # parsed JSON, true/false/null intact


# How much of an envelope's ErrorMessage a label shows: the last line of a traceback is the error.
_ERROR_CHARS = 160
_REQUEST_ID_CHARS = 64
# An uploader's signature, wherever it appears in a dead letter's error text.
_SIGNATURE = re.compile(r"q-sign-algorithm=[^\s\"',;]*", re.IGNORECASE)


def _loads(text: str) -> Any:
    """json.loads, with JSON nested deeper than Python's parser goes refused as invalid (no event is)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to be an event") from None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _is_envelope(value: Mapping[str, Any]) -> bool:
    # A COS event never has `Body`; an envelope never has `Records` at its top.
    return "Body" in value and "Records" not in value


def _field(value: Mapping[str, Any], name: str) -> Any:
    # The data-flow API documents camelCase names; accept the API 3.0 capitalisation as well.
    return value[name] if name in value else value.get(name[0].upper() + name[1:])


def _is_receive_answer(value: Mapping[str, Any]) -> bool:
    return "Records" not in value and (_field(value, "msgInfoList") is not None or _field(value, "msgBody") is not None)


def _safe(text: str, limit: int, secrets: list[str]) -> str:
    from handler.log import Redactor, printable

    text = _SIGNATURE.sub("***", Redactor(secrets)(text))
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unwrap(envelope: Mapping[str, Any], label: str) -> SourcedEvent:
    """The invocation payload of a dead-letter envelope, labelled with what the envelope says."""
    from handler.cos_event import authorization_headers

    body = envelope["Body"]
    where = f"{label}: dead-letter message"
    if not isinstance(body, Mapping):
        raise EventFileError(f"{where}: Body should be an object, got {_json_type(body)}")
    if "ClientContext" not in body:
        raise EventFileError(f"{where}: Body.ClientContext (the invocation payload) is missing")
    context = body["ClientContext"]
    if not isinstance(context, str):
        raise EventFileError(f"{where}: Body.ClientContext should be a JSON string, got {_json_type(context)}")
    try:
        event = _loads(context)
    except ValueError as exc:  # the message names a position only, never the payload's text
        raise EventFileError(f"{where}: Body.ClientContext is not valid JSON ({exc})") from None
    if not isinstance(event, Mapping):
        raise EventFileError(f"{where}: Body.ClientContext should hold a JSON object, got {_json_type(event)}")
    secrets = authorization_headers(event)
    request_id = envelope.get("RequestId") or body.get("RequestId")
    details = [f"dead-lettered request {_safe(str(request_id), _REQUEST_ID_CHARS, secrets)}" if request_id else ""]
    retries = body.get("RetryNum")
    if isinstance(retries, int) and not isinstance(retries, bool):
        details.append(f"RetryNum {retries}")
    error = envelope.get("ErrorMessage")
    if isinstance(error, str) and error.strip():
        details.append("last error: " + _safe(error.strip().splitlines()[-1].strip(), _ERROR_CHARS, secrets))
    shown = ", ".join(d for d in details if d) or "dead-lettered request"
    return SourcedEvent(f"{label} ({shown})", event)


def _from_message_body(body: Any, label: str) -> list[SourcedEvent]:
    if not isinstance(body, str):
        raise EventFileError(f"{label}: msgBody should be a string, got {_json_type(body)}")
    try:
        value = _loads(body)
    except ValueError as exc:
        raise EventFileError(f"{label}: msgBody is not valid JSON ({exc})") from None
    if isinstance(value, Mapping) and _is_envelope(value):
        return [_unwrap(value, label)]
    return [SourcedEvent(label, value)]


def _expand(value: Any, label: str, in_array: bool = False) -> list[SourcedEvent]:
    """The events one JSON value holds (see the module docstring)."""
    if isinstance(value, list) and not in_array:
        return [event for i, item in enumerate(value) for event in _expand(item, f"{label}[{i}]", in_array=True)]
    if isinstance(value, Mapping):
        if _is_envelope(value):
            return [_unwrap(value, label)]
        if _is_receive_answer(value):
            messages = _field(value, "msgInfoList")
            if messages is None:
                return _from_message_body(_field(value, "msgBody"), label)
            if not isinstance(messages, list):
                raise EventFileError(f"{label}: msgInfoList should be an array, got {_json_type(messages)}")
            events = []
            for i, message in enumerate(messages):
                where = f"{label} msgInfoList[{i}]"
                if not isinstance(message, Mapping):
                    raise EventFileError(f"{where}: should be an object, got {_json_type(message)}")
                events.extend(_from_message_body(_field(message, "msgBody"), where))
            return events
    return [SourcedEvent(label, value)]


def _parse_text(text: str, name: str) -> list[SourcedEvent]:
    try:
        whole = _loads(text)
    except ValueError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise EventFileError(f"{name}: not valid JSON ({whole_error})") from None
    else:
        events = _expand(whole, name)
        if not events:
            raise EventFileError(f"{name}: holds no event (an empty array or message list)")
        return events
    events = []
    for n, line in lines:  # JSON lines: one event or dead-letter message per line
        try:
            value = _loads(line)
        except ValueError as exc:
            raise EventFileError(f"{name}:{n}: not valid JSON ({exc})") from None
        events.extend(_expand(value, f"{name}:{n}"))
    return events


def read_events(paths: list[str]) -> list[SourcedEvent]:
    events: list[SourcedEvent] = []
    for raw in paths:
        if raw == "-":
            events.extend(_parse_text(sys.stdin.read(), "<stdin>"))
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
            if not files:
                raise EventFileError(f"{raw}: directory has no .json or .jsonl files")
        elif path.is_file():
            files = [path]
        else:
            raise EventFileError(f"{raw}: no such file or directory")
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise EventFileError(f"{file}: cannot read ({exc.strerror or exc})") from None
            except UnicodeDecodeError:
                raise EventFileError(
                    f"{file}: {file_looks_like(str(file))}, not an event file: replay takes COS trigger events "
                    "as JSON (events/ has samples; `autoenhance generate-event --key uploads/photo.jpg` writes one)"
                ) from None
            events.extend(_parse_text(text, str(file)))
    return events
