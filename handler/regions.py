"""COS region codes as they appear in trigger events, and region-name checks.

`cosBucket.region` carries COS's historic short codes (`gz`, `sh`, ...). Only codes that a
source ties to COS are mapped (docs/tencent-cloud.md#region-codes); anything else is an error, never a
guess. Deployments that meet another code can extend the map with COS_REGION_CODES.

Full names are checked for their shape only here: the function accepts a well-formed region it
does not know, so a region opened after this code needs no change. `DOCUMENTED_REGIONS` and
`region_slip` are for the CLI's checks, which refuse a near miss of a documented region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import RegionError

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

# The regions COS and MPS document (docs/tencent-cloud.md#regions), the retired ones included
# (buckets made there still exist), and ap-guangzhou-2, which an old short code maps to.
DOCUMENTED_REGIONS = frozenset(
    {
        "ap-beijing-1", "ap-beijing", "ap-nanjing", "ap-shanghai", "ap-guangzhou", "ap-chengdu", "ap-chongqing",
        "ap-shenzhen-fsi", "ap-shanghai-fsi", "ap-beijing-fsi", "ap-hongkong", "ap-singapore", "ap-mumbai",
        "ap-jakarta", "ap-seoul", "ap-bangkok", "ap-tokyo", "na-siliconvalley", "na-ashburn", "na-toronto",
        "sa-saopaulo", "eu-frankfurt", "eu-moscow", "ap-guangzhou-2",
    }
)  # fmt: skip

# `ap-guangzhou`, `ap-beijing-1`, `na-siliconvalley`, `ap-shanghai-fsi`, ...
_FULL_REGION = re.compile(r"[a-z]{2,3}-[a-z]+(?:-[a-z0-9]+)*")


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


def region_slip(name: str) -> str | None:
    """The documented region `name` is a slip of, or None: 'ap-shanghai' for 'ap-shangai',
    'shanghai' or 'AP-Shanghai'; never for a documented region, nor for a numbered neighbour
    ('ap-beijing-2' is not a slip of 'ap-beijing-1': it may be a new zone)."""
    wanted = name.strip().lower()
    if wanted in DOCUMENTED_REGIONS:
        return wanted if wanted != name else None
    bare = [r for r in sorted(DOCUMENTED_REGIONS) if r.split("-", 1)[1] == wanted]
    if bare:
        return bare[0]
    import difflib  # only on this error path

    for close in difflib.get_close_matches(wanted, sorted(DOCUMENTED_REGIONS), n=3, cutoff=0.8):
        if _unnumbered(close) != _unnumbered(wanted) and _edits_within(wanted, close, 2):
            return close
    return None


def _unnumbered(region: str) -> str:
    return re.sub(r"-[0-9]+$", "", region)


def _edits_within(a: str, b: str, limit: int) -> bool:
    """Whether a letter missing, added or changed `limit` times at most turns `a` into `b` (Levenshtein)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = row
    return previous[-1] <= limit
