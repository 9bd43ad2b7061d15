"""Rules (RULES_FILE): a different treatment per folder or per upload, first match wins.

The file is `{"rules": [...]}`; each rule has a `name`, a `match` (any of `prefix`,
`extensions`, `min_size`/`max_size` in bytes, `content_type`, `metadata`: exact values of
`x-cos-meta-*` headers), exactly one action (`image_task`, `image_task_file`, `definition` or
`"skip": "<reason>"`) and an optional `output` (`bucket`, `region`, `dir`, `path`).

This module parses (`RawRule`), matches (`RuleMatch`) and holds the rule a record is planned
with (`Rule`); `config.py` turns each rule's task and output into that rule's settings (validated
with the same parsers as the environment's), so a rule's problems read exactly like a variable's.
Pure: no I/O (the caller reads task files).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # config.py imports this module, so Settings is imported for the type checker only
    from .config import Settings

CONTROL_HEADER = "x-cos-meta-autoenhance"  # set by the uploader: "skip", or the name of a rule to use
OPT_OUT = "skip"
META_PREFIX = "x-cos-meta-"
RULE_KEYS = ("name", "match", "image_task", "image_task_file", "definition", "skip", "output")
ACTIONS = ("image_task", "image_task_file", "definition", "skip")
MATCH_KEYS = ("prefix", "extensions", "min_size", "max_size", "content_type", "metadata")
OUTPUT_KEYS = ("bucket", "region", "dir", "path")
RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class RuleMatch(NamedTuple):
    """What a rule matches; an empty field matches everything."""

    prefix: str = ""
    extensions: frozenset[str] = frozenset()  # lowercase, no dot
    min_size: int | None = None
    max_size: int | None = None
    content_type: str = ""  # lowercase; "image/*" matches a whole family
    metadata: tuple[tuple[str, str], ...] = ()  # (lowercase x-cos-meta-* header, exact value)

    def matches(self, key: str, size: int, content_type: str, metadata: Mapping[str, str]) -> bool:
        if self.prefix and not key.startswith(self.prefix):
            return False
        if self.extensions and extension_of(key) not in self.extensions:
            return False
        if self.min_size is not None and size < self.min_size:
            return False
        if self.max_size is not None and size > self.max_size:
            return False
        if self.content_type:
            actual = content_type.split(";", 1)[0].strip().lower()
            family = self.content_type[:-1] if self.content_type.endswith("/*") else None
            if not (actual.startswith(family) if family else actual == self.content_type):
                return False
        return all(metadata.get(name) == value for name, value in self.metadata)

    def describe(self) -> str:
        parts = []
        if self.prefix:
            parts.append(f"prefix {self.prefix}")
        if self.extensions:
            parts.append("extensions " + ",".join(sorted(self.extensions)))
        if self.min_size is not None:
            parts.append(f"size >= {self.min_size}")
        if self.max_size is not None:
            parts.append(f"size <= {self.max_size}")
        if self.content_type:
            parts.append(f"content type {self.content_type}")
        parts += [f"{name}={value}" for name, value in self.metadata]
        return ", ".join(parts) or "everything"


class RawRule(NamedTuple):
    """One rule as the file states it; `config.py` resolves `task` and `output` into settings."""

    name: str
    match: RuleMatch
    action: str  # one of ACTIONS
    value: Any  # the action's value: an ImageTask object, a file name, a template id, a skip reason
    output: dict[str, str]  # raw strings, validated by config.py like OUTPUT_* variables


class Rule(NamedTuple):
    """A rule of RULES_FILE, ready to plan with: a skip reason, or the settings its records get."""

    name: str
    match: RuleMatch
    skip: str | None  # a skip rule's reason
    settings: Settings | None = None  # a task rule's: the environment's, with its task and outputs


def extension_of(key: str) -> str:
    """The key's extension, lowercased ('' without one): what IMAGE_EXTENSIONS and rules match."""
    name = posixpath.basename(key)
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def object_metadata(meta: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The x-cos-meta-* headers of a COS event's cosObject.meta, names lowercased (HTTP headers are case-insensitive)."""
    return tuple(sorted((str(k).lower(), str(v)) for k, v in meta.items() if str(k).lower().startswith(META_PREFIX)))


def _unknown(keys: Any, allowed: tuple[str, ...], where: str) -> list[str]:
    import difflib  # only on this error path

    problems = []
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]}?" if close else f"allowed: {', '.join(allowed)}"
            problems.append(f"{where}: unknown field {key!r}; {hint}")
    return problems


def _size(value: Any, where: str, problems: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{where}: {value!r}: must be a whole number of bytes, 0 or more")
        return None
    return value


def _match(raw: Any, where: str, problems: list[str]) -> RuleMatch:
    if raw is None:
        return RuleMatch()
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with any of {', '.join(MATCH_KEYS)}")
        return RuleMatch()
    problems += _unknown(raw, MATCH_KEYS, where)
    prefix = raw.get("prefix", "")
    if not isinstance(prefix, str) or any(ord(c) < 32 for c in prefix) or "\\" in prefix:
        problems.append(f"{where}.prefix: {prefix!r}: must be a key prefix such as avatars/")
        prefix = ""
    extensions: frozenset[str] = frozenset()
    if "extensions" in raw:
        listed = raw["extensions"]
        if not isinstance(listed, list) or not listed or not all(isinstance(e, str) for e in listed):
            problems.append(f'{where}.extensions: {listed!r}: must be a list of extensions such as ["jpg", "png"]')
        else:
            extensions = frozenset(e.strip().lstrip(".").lower() for e in listed)
            bad = sorted(e for e in extensions if not (e.isascii() and e.isalnum()))
            if bad:
                problems.append(f"{where}.extensions: {bad!r}: each must be letters and digits, such as jpg")
    min_size = _size(raw.get("min_size"), f"{where}.min_size", problems)
    max_size = _size(raw.get("max_size"), f"{where}.max_size", problems)
    if min_size is not None and max_size is not None and min_size > max_size:
        problems.append(f"{where}: min_size {min_size} is larger than max_size {max_size}: nothing would match")
    content_type = raw.get("content_type", "")
    if not isinstance(content_type, str) or (
        content_type and not re.fullmatch(r"[\w.+-]+/(\*|[\w.+-]+)", content_type)
    ):
        problems.append(f"{where}.content_type: {content_type!r}: must be a media type such as image/png or image/*")
        content_type = ""
    metadata: list[tuple[str, str]] = []
    raw_meta = raw.get("metadata", {})
    if not isinstance(raw_meta, dict) or not all(isinstance(v, str) for v in raw_meta.values()):
        problems.append(f"{where}.metadata: must map x-cos-meta-* header names to exact string values")
    else:
        for name, value in raw_meta.items():
            if not str(name).lower().startswith(META_PREFIX) or str(name).lower() == META_PREFIX:
                problems.append(
                    f"{where}.metadata: {name!r}: must be an x-cos-meta-* header name, such as x-cos-meta-kind"
                )
            elif str(name).lower() == CONTROL_HEADER:
                problems.append(f"{where}.metadata: {CONTROL_HEADER} chooses a rule by name; it cannot be matched on")
            else:
                metadata.append((str(name).lower(), value))
    return RuleMatch(prefix.lstrip("/"), extensions, min_size, max_size, content_type.lower(), tuple(sorted(metadata)))


def _output(raw: Any, where: str, problems: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        problems.append(f"{where}: must be an object of strings with any of {', '.join(OUTPUT_KEYS)}")
        return {}
    problems += _unknown(raw, OUTPUT_KEYS, where)
    return {k: v for k, v in raw.items() if k in OUTPUT_KEYS}


def parse_rules(doc: Any, where: str) -> tuple[list[RawRule], list[str]]:
    """The rules a parsed RULES_FILE holds, and every problem with them (each naming the rule)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        return [], [f'{where}: must be {{"rules": [...]}}, a list of rules']
    problems = _unknown(doc, ("rules",), where)
    rules: list[RawRule] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["rules"]):
        here = f"{where}: rules[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{here}: must be an object with a name, a match and an action")
            continue
        name = raw.get("name")
        if isinstance(name, str) and RULE_NAME.fullmatch(name):
            here = f"{here} ({name})"
        else:
            problems.append(f"{here}.name: {name!r}: must be 1-64 letters, digits, '.', '_' or '-'")
            name = f"rules[{i}]"
        if name.lower() == OPT_OUT:
            problems.append(f"{here}.name: {OPT_OUT!r} is reserved ({CONTROL_HEADER}: skip opts an upload out)")
        if name in seen:
            problems.append(f"{here}.name: {name!r} is used by an earlier rule; names must be unique")
        seen.add(name)
        problems += _unknown(raw, RULE_KEYS, here)
        match = _match(raw.get("match"), f"{here}.match", problems)
        actions = [a for a in ACTIONS if a in raw]
        if len(actions) != 1:
            problems.append(f"{here}: needs exactly one of {', '.join(ACTIONS)}, has {', '.join(actions) or 'none'}")
            continue
        action, value = actions[0], raw[actions[0]]
        if action == "skip" and (not isinstance(value, str) or not value.strip()):
            problems.append(f'{here}.skip: {value!r}: must be the reason to log, such as "already large"')
            continue
        if action == "skip" and "output" in raw:
            problems.append(f"{here}: a skip rule writes nothing, so it takes no output")
        rules.append(RawRule(name, match, action, value, _output(raw.get("output"), f"{here}.output", problems)))
    return rules, problems
