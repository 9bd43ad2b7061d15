"""Generate handler/mps_schema.json from the official SDK's MPS models.

The function validates its ImageTask configuration against the SDK's own model, but
importing `tencentcloud.mps.v20190612.models` (100k lines) would cost every cold start.
So the field names and types are extracted here, at development time, into a small JSON
file shipped with the handler; `tests/deploy/test_mps_schema.py` fails when the installed SDK
and the shipped file disagree (re-run this script after upgrading the SDK).

Usage: python tools/gen_mps_schema.py [--check]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Union

ROOT_TYPE = "ImageTaskInput"
OUT = Path(__file__).resolve().parent.parent / "handler" / "mps_schema.json"

_TYPE_LINE = re.compile(r"^\s*:type (\w+): (.+?)\s*$", re.MULTILINE)
_CLASS_REF = re.compile(r":class:`tencentcloud\.mps\.v20190612\.models\.(\w+)`")
_SCALARS = {"str": "str", "int": "int", "float": "float", "bool": "bool"}

TypeSpec = Union[str, list[str]]


def _parse_type(text: str) -> TypeSpec:
    """'str' -> 'str'; ':class:`...X`' -> 'X'; 'list of int non-negative' -> ['int']."""
    ref = _CLASS_REF.fullmatch(text)
    if ref:
        return ref.group(1)
    if text.startswith("list of "):
        inner = text[len("list of ") :].split()[0]
        return [_SCALARS.get(inner, inner)]
    if text.split()[0] in _SCALARS:
        return _SCALARS[text.split()[0]]
    raise ValueError(f"unrecognised SDK type annotation: {text!r}")


def build_schema(root: str = ROOT_TYPE) -> dict[str, dict[str, TypeSpec]]:
    from tencentcloud.mps.v20190612 import models

    schema: dict[str, dict[str, TypeSpec]] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in schema:
            continue
        doc = getattr(models, name).__init__.__doc__ or ""
        fields = {field: _parse_type(t) for field, t in _TYPE_LINE.findall(doc)}
        schema[name] = fields
        for spec in fields.values():
            inner = spec[0] if isinstance(spec, list) else spec
            if inner not in _SCALARS.values():
                pending.append(inner)
    return dict(sorted(schema.items()))


def render(schema: dict[str, dict[str, TypeSpec]]) -> str:
    import tencentcloud

    doc = {"sdk_version": tencentcloud.__version__, "root": ROOT_TYPE, "types": schema}
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(build_schema())
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python tools/gen_mps_schema.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
