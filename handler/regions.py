"""COS region codes as they appear in trigger events, and region-name checks.

`cosBucket.region` carries COS's historic short codes (`gz`, `sh`, ...). Only codes that a
source ties to COS are mapped (docs/tencent-cloud.md#region-codes); anything else is an error, never a
guess. Deployments that meet another code can extend the map with COS_REGION_CODES.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Short codes seen in COS events / cos-python-sdk-v5 `format_region` (`cos<code>` -> v5 name).
COS_SHORT_CODES: Mapping[str, str] = {
    "bj": "ap-beijing",
    "sh": "ap-shanghai",
    "gz": "ap-guangzhou",
    "cd": "ap-chengdu",
    "cq": "ap-chongqing",
    "tj": "ap-beijing-1",
    "hk": "ap-hongkong",
    "sgp": "ap-singapore",
    "ca": "na-toronto",
    "ger": "eu-frankfurt",
    # Older XML-API region names (cos-js-sdk-v5 test map).
    "tianjin": "ap-beijing-1",
    "cn-north": "ap-beijing-1",
    "cn-east": "ap-shanghai",
    "cn-south": "ap-guangzhou",
    "cn-south-2": "ap-guangzhou-2",
    "cn-southwest": "ap-chengdu",
    "sg": "ap-singapore",
}

# `ap-guangzhou`, `ap-beijing-1`, `na-siliconvalley`, `ap-shanghai-fsi`, ...
_FULL_REGION = re.compile(r"[a-z]{2,3}-[a-z]+(?:-[a-z0-9]+)*")


class RegionError(ValueError):
    pass


def is_full_region(name: str) -> bool:
    return bool(_FULL_REGION.fullmatch(name)) and name not in COS_SHORT_CODES


def parse_code_overrides(text: str) -> dict[str, str]:
    """COS_REGION_CODES='nj=ap-nanjing,tpe=ap-taipei' -> {'nj': 'ap-nanjing', ...}."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, sep, full = (s.strip() for s in item.partition("="))
        if not sep or not code or not is_full_region(full):
            raise RegionError(f"COS_REGION_CODES entry {item!r} is not 'code=full-region' (e.g. 'nj=ap-nanjing')")
        out[code] = full
    return out


def full_region_for(code: str, extra: Mapping[str, str] | None = None) -> str:
    """Map a short COS code (or pass through a full region name) to the full name."""
    if extra and code in extra:
        return extra[code]
    if code in COS_SHORT_CODES:
        return COS_SHORT_CODES[code]
    if is_full_region(code):
        return code
    raise RegionError(_unknown_code_message(code, extra or {}))


def _unknown_code_message(code: str, extra: Mapping[str, str]) -> str:
    # Error path only: the usual mistake is a full region name without its prefix
    # ('guangzhou' for ap-guangzhou), so a full name is suggested before COS_REGION_CODES.
    import difflib

    known_codes = sorted({*COS_SHORT_CODES, *extra})
    known_regions = sorted({*COS_SHORT_CODES.values(), *extra.values()})
    wanted = code.strip().lower()
    close = [r for r in known_regions if wanted in (r, r.split("-", 1)[-1])]
    suggestions = [repr(r) for r in close or difflib.get_close_matches(wanted, known_regions, n=2, cutoff=0.75)]
    if not suggestions:
        suggestions = [
            f"{c!r} ({extra.get(c) or COS_SHORT_CODES[c]})"
            for c in difflib.get_close_matches(wanted, known_codes, n=1, cutoff=0.8)
        ]
    hint = f"did you mean {' or '.join(suggestions)}? Otherwise give " if suggestions else "give "
    return (
        f"unknown COS region code {code!r}: {hint}a full region name such as 'ap-guangzhou' or a known "
        f"short code ({', '.join(known_codes)}), or add the code with COS_REGION_CODES='code=full-region'"
    )
