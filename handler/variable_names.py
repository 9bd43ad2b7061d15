"""The names of the variables the function reads, and the check for misspelt ones.

Split from `handler/variables.py` (one parser per variable): this is the only code that looks at
every name in the environment, SCF's and the runtime's included, so it is written to be cheap on
names that are not ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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


def misspelt_variables(env: Mapping[str, str]) -> dict[str, str]:
    """{name: what to say about it} for each name in `env` that looks like a slip of one of ours."""
    found = {}
    for name in sorted(env):
        if name in KNOWN_VARIABLES:
            continue
        near = _near_miss(name)
        if near:
            found[name] = f"did you mean {near}?"
        elif name.startswith(_OWN_PREFIXES):
            import difflib  # only on this error path

            close = difflib.get_close_matches(name, KNOWN_VARIABLES, n=1)
            found[name] = f"did you mean {close[0]}?" if close else f"known: {', '.join(KNOWN_VARIABLES)}"
    return found


def is_near_miss(name: str) -> bool:
    """Whether `name` is within an edit or two of a variable we read (not merely our prefix)."""
    return name not in KNOWN_VARIABLES and _near_miss(name) is not None


def unknown_variables(env: Mapping[str, str], problems: list[str]) -> None:
    problems.extend(f"{name}: unknown variable; {hint}" for name, hint in misspelt_variables(env).items())


_LEADING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=[=:])")


def with_origin(problem: str, origins: Mapping[str, str]) -> str:
    """`problem` ending with where the variable it starts with came from, when `origins` knows."""
    name = _LEADING_NAME.match(problem)
    origin = origins.get(name.group()) if name else None
    return f"{problem}  <- {origin}" if origin else problem


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
