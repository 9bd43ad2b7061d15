"""The resubmit lists: the keys of what failed, one file per bucket, for `autoenhance backfill --resubmit --keys`."""

from __future__ import annotations

import collections
import json
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from handler.regions import is_full_region

from .rows import shown_time


class ResubmitFile(NamedTuple):
    bucket: str
    region: str  # "" when nothing said it
    path: Path
    keys: int
    encoded: int  # keys written as JSON strings (see `key_line`)


# What COS accepts as a bucket's full name: <name>-<appid>. The name becomes part of a file name
# and a shell command here, so nothing else (no '/', no '..', no space) is ever used as one.
BUCKET_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}")
# What a plain line could not carry: what str.splitlines() splits at, and other control characters.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def key_line(key: str) -> str:
    """The list's line for `key`: the key itself, or its JSON string when a plain line would change it.

    A line starting with '#' is a comment and one starting with '"' a JSON string, so a key that
    starts with either, holds a line break or a control character, or begins or ends with white
    space is written as JSON (`backfill --keys` decodes it). No key can become a comment or a header.
    """
    if not key or key.startswith(("#", '"')) or key != key.strip() or _NOT_PLAIN.search(key):
        return json.dumps(key, ensure_ascii=True)
    return key


class ResubmitLists:
    """The keys to submit again, one file per bucket, written as they come and finished at the end.

    Format (what `autoenhance backfill --resubmit --keys FILE` reads): first line
    `# bucket=<bucket> region=<region>`, lines starting with `#` are comments, every other line is
    one key: as logged, or as a JSON string (`key_line`). One bucket: `target`; several: `target` with `-<bucket>` before its extension.
    """

    def __init__(self, target: Path, logs: Sequence[str]):
        self.target, self.logs = target, list(logs)
        self._parts: dict[str, tuple[Path, IO[str]]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._encoded: collections.Counter[str] = collections.Counter()
        self.refused = 0  # failed uploads whose bucket is no COS bucket name: listed nowhere

    def add(self, bucket: str, key: str) -> None:
        if (bucket, key) in self._seen:
            return
        self._seen.add((bucket, key))
        if not BUCKET_NAME.fullmatch(bucket):
            self.refused += 1
            return
        if bucket not in self._parts:
            part = self.target.with_name(f".{self.target.name}.{len(self._parts)}.part")
            self._parts[bucket] = (part, open(part, "w", encoding="utf-8"))  # noqa: SIM115
        line = key_line(key)
        self._parts[bucket][1].write(line + "\n")
        self._counts[bucket] += 1
        self._encoded[bucket] += line != key

    def path_for(self, bucket: str) -> Path:
        if len(self._parts) <= 1:
            return self.target
        stem, dot, ext = self.target.name.rpartition(".")
        name = f"{stem}-{bucket}.{ext}" if dot and stem else f"{self.target.name}-{bucket}"
        return self.target.with_name(name)

    def finish(self, regions: Callable[[str], str], now: float) -> list[ResubmitFile]:
        files = []
        for bucket, (part, out) in self._parts.items():
            out.close()
            region = regions(bucket)
            if region and not is_full_region(region):
                region = ""  # the header then asks for it rather than carry a made-up one
            path = self.path_for(bucket)
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as dst, open(part, encoding="utf-8") as src:
                dst.write(f"# bucket={bucket} region={region or 'REGION'}\n")
                dst.write(
                    f"# autoenhance report of {' '.join(self.logs)}, {shown_time(now)}: failed tasks and failed "
                    "records, one key per line\n"
                )
                if not region:
                    dst.write("# the region is not in the logs nor MPS's answers: replace REGION (or pass --region)\n")
                dst.writelines(src)
            tmp.replace(path)
            part.unlink()
            files.append(ResubmitFile(bucket, region, path, self._counts[bucket], self._encoded[bucket]))
        self._parts.clear()
        return files

    def abandon(self) -> None:
        for part, out in self._parts.values():
            out.close()
            part.unlink(missing_ok=True)
        self._parts.clear()


def backfill_command(file: ResubmitFile) -> str:
    return (
        f"autoenhance backfill --bucket {shlex.quote(file.bucket)} --region {shlex.quote(file.region or 'REGION')} "
        f"--resubmit --keys {shlex.quote(str(file.path))}"
    )
