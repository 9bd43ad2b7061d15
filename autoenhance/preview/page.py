"""The preview's files: each image before and after, and one HTML page that shows them side by side.

The page is static and self-contained apart from the images written next to it (no script, no
network), so it opens from disk in any browser and can be kept or attached to a review.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from fakes.mps.imaging import APPROXIMATED, EMULATED, NOT_EMULATED, OFF

from .engine import Facts, Shot

PAGE = "index.html"
_UNSAFE = re.compile(r"[^\w.-]+")

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
section { border-top: 1px solid #ccc; padding: 1em 0 2em; }
.pair { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; }
figure img { max-width: 480px; max-height: 480px; border: 1px solid #ddd;
  background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
figcaption { font-size: 13px; color: #444; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 12px; }
.emulated { color: #196619; } .approximated { color: #8a5a00; }
.not-emulated { color: #a32020; } .off { color: #666; }
.outcome-success { color: #196619; } .outcome-failed { color: #a32020; } .outcome-skipped { color: #666; }
"""

_TREATMENT_CLASS = {EMULATED: "emulated", APPROXIMATED: "approximated", NOT_EMULATED: "not-emulated", OFF: "off"}


def write_preview(shots: Sequence[Shot], out_dir: Path, configuration: Sequence[str]) -> Path:
    """Write each image's before and after into `out_dir`, then the page; returns the page's path.

    `configuration` lines say where the rules and the task came from."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = []
    for number, shot in enumerate(shots, 1):
        before = _write(out_dir, f"{number:02d}-before-{shot.upload.source.name}", shot.upload.source.read_bytes())
        after = None
        if shot.output_body:
            after = _write(out_dir, f"{number:02d}-after-{shot.output.rpartition('/')[2]}", shot.output_body)
        sections.append(_section(number, shot, before, after))
    page = out_dir / PAGE
    page.write_text(_document(sections, configuration), encoding="utf-8")
    return page


def _write(out_dir: Path, name: str, body: bytes) -> str:
    safe = _UNSAFE.sub("_", name)
    (out_dir / safe).write_bytes(body)
    return safe


def _document(sections: list[str], configuration: Sequence[str]) -> str:
    config = "".join(f"<li>{html.escape(line)}</li>" for line in configuration)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>autoenhance preview</title>"
        f"<style>{_STYLE}</style></head><body>\n"
        "<h1>autoenhance preview</h1>\n"
        "<p>Each image as the function would submit its upload, and what the <em>local</em> MPS made of it. "
        "The local MPS does the task with Pillow: formats, quality and every resize mode as MPS documents them; "
        "super-resolution is approximated (2x, Lanczos); other enhancements, erase, watermark, beauty and AI "
        "steps are passed through. Each image lists which of its steps were which. The order is a guess "
        "(MPS documents none): decode, enhance, resize, encode. See docs/preview.md.</p>\n"
        f"<ul>{config}</ul>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def _section(number: int, shot: Shot, before: str, after: str | None) -> str:
    e = html.escape
    upload = shot.upload
    rule = f"rule <b>{e(shot.rule)}</b>" if shot.rule else "no rule matched: the environment's task"
    meta = "".join(f", {e(k)}: {e(v)}" for k, v in upload.metadata.items())
    parts = [
        f"<section><h2>{number}. {e(upload.source.name)}</h2>",
        f"<p>{e(str(upload.source))} uploaded as <code>{e(shot.bucket)}/{e(upload.key)}</code>{meta}; {rule}. "
        f'<span class="outcome-{e(shot.outcome)}">{e(shot.outcome)}</span>'
        + (f": {e(shot.reason)}" if shot.reason else "")
        + "</p>",
        '<div class="pair">',
        _figure("before", before, shot.before, ""),
    ]
    if after is not None:
        parts.append(_figure("after", after, shot.after, shot.output))
    parts.append("</div>")
    if shot.steps:
        items = "".join(
            f'<li><span class="{_TREATMENT_CLASS.get(s.treatment, "off")}">{e(s.treatment)}</span> '
            f"<code>{e(s.name)}</code>: {e(s.detail)}</li>"
            for s in shot.steps
        )
        parts.append(f"<h3>Steps</h3><ul>{items}</ul>")
    if shot.request is not None:
        request = json.dumps(shot.request, indent=2, ensure_ascii=False)
        parts.append(f"<h3>The ProcessImage request</h3><pre>{e(request)}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def _figure(label: str, file: str, facts: Facts | None, where: str) -> str:
    e = html.escape
    described = facts.describe() if facts else "not an image Pillow reads"
    where_text = f"<br><code>{e(where)}</code>" if where else ""
    return (
        f'<figure><img src="{quote(file)}" alt="{e(label)}">'
        f"<figcaption><b>{e(label)}</b>: {e(described)}{where_text}</figcaption></figure>"
    )
