"""Draw the sample images in samples/: an avatar-like square portrait and a product shot.

Drawn with Pillow from shapes and gradients, so they carry no one's photo and no licence but the
project's; small (a few KB), so the repository stays light. The tour (docs/preview.md) and the
tests preview them:

    autoenhance preview samples/avatar.jpg samples/product.jpg \\
        --key uploads/avatars/avatar.jpg --key uploads/products/product.jpg

Usage: python tools/make_sample_images.py [--out DIR]   (default: samples/ of this repository)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "samples"
AVATAR_SIZE = 512  # larger than the example avatar rule's 256 box, so the preview shows it shrink
PRODUCT_SIZE = (320, 240)  # small, so the example products rule's 2x super-resolution shows it grow
QUALITY = 80


def vertical_gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    height = size[1]
    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize(size)


def avatar() -> Image.Image:
    """A head-and-shoulders portrait on a soft backdrop: a square image, as avatars are."""
    size = AVATAR_SIZE
    image = vertical_gradient((size, size), (92, 140, 196), (196, 218, 236))
    draw = ImageDraw.Draw(image)
    draw.ellipse((96, 360, 416, 700), fill=(52, 84, 128))  # shoulders
    draw.rectangle((226, 300, 286, 380), fill=(222, 178, 150))  # neck
    draw.ellipse((166, 120, 346, 330), fill=(232, 190, 160))  # face
    draw.chord((156, 96, 356, 260), 180, 360, fill=(70, 48, 36))  # hair
    for x in (214, 298):
        draw.ellipse((x - 9, 214, x + 9, 230), fill=(40, 40, 48))  # eyes
    draw.arc((218, 246, 294, 296), 20, 160, fill=(150, 80, 80), width=4)  # smile
    return image.filter(ImageFilter.GaussianBlur(1.2))


def product() -> Image.Image:
    """A bottle on a studio table with its shadow: a small, landscape product shot."""
    image = vertical_gradient(PRODUCT_SIZE, (246, 246, 244), (214, 212, 208))
    shadow = Image.new("L", PRODUCT_SIZE, 0)
    ImageDraw.Draw(shadow).ellipse((112, 196, 228, 218), fill=110)
    image.paste((90, 88, 84), mask=shadow.filter(ImageFilter.GaussianBlur(6)))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((132, 70, 208, 208), radius=16, fill=(34, 110, 84))  # bottle
    draw.rectangle((156, 38, 184, 74), fill=(34, 110, 84))  # neck
    draw.rectangle((152, 28, 188, 42), fill=(190, 150, 60))  # cap
    draw.rectangle((136, 120, 204, 172), fill=(240, 232, 210))  # label
    draw.line((146, 136, 194, 136), fill=(120, 60, 40), width=3)
    draw.line((146, 152, 184, 152), fill=(120, 60, 40), width=2)
    draw.rounded_rectangle((140, 80, 148, 196), radius=4, fill=(96, 170, 140))  # highlight
    return image.filter(ImageFilter.GaussianBlur(0.6))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write them (default: samples/)")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, image in (("avatar.jpg", avatar()), ("product.jpg", product())):
        path = out / name
        image.save(path, format="JPEG", quality=QUALITY, optimize=True)
        print(f"wrote {path} ({image.width}x{image.height}, {path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
