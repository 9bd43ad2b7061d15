"""What a file looks like, for the message when a command was handed the wrong one.

`replay photo.jpg` or `report photo.jpg` should say "this is a JPEG image" rather than quote a
decoder's complaint about byte 0xff: the user gave the upload instead of its event or its log.
"""

from __future__ import annotations

_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x7fELF", "a program"),
)
_SNIFF = 4096


def looks_like(head: bytes) -> str:
    """A few words for what a file starting with `head` is: 'a JPEG image', 'binary data', 'text'."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "an HEIF/AVIF image"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if not head:
        return "empty"
    if b"\0" in head:
        return "binary data"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return "binary data"
    return "text"


def file_looks_like(path: str) -> str:
    with open(path, "rb") as f:
        return looks_like(f.read(_SNIFF))
