"""Where the fake MPS writes a task's output, and what that object looks like.

The location follows ProcessImage's OutputStorage/OutputDir/OutputPath documentation, the rules
tests/function/test_outputs.py also holds the function's own prediction to. For an input with
no image bytes (size-only objects, tests' stand-ins) the size and type are the fake's estimate
from the input (MPS documents neither), so a benchmark's bucket fills with outputs of plausible
sizes; an input image's output is the real thing (fakes/mps/imaging.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from .records import JsonDict, OutputLocation, json_object, json_text

# Output format -> (Content-Type, rough bytes per pixel relative to JPEG): sizes an output from its input.
OUTPUT_FORMATS: Mapping[str, tuple[str, float]] = {
    "jpeg": ("image/jpeg", 1.0),
    "jpg": ("image/jpeg", 1.0),
    "png": ("image/png", 3.0),
    "webp": ("image/webp", 0.7),
    "bmp": ("image/bmp", 8.0),
}


def output_location(params: JsonDict) -> OutputLocation:
    """Where MPS writes the output of the task ProcessImage `params` created.

    Bucket and region come from OutputStorage, else the input's; the directory is OutputDir,
    else the input's; the name is OutputPath (absolute, or relative to the directory), else
    `{inputName}.{format}`, where {format} is the lowercased EncodeConfig.Format, else the
    input's extension.
    """
    info = json_object(params.get("InputInfo"))
    source = json_object(info.get("CosInputInfo"))
    target = json_object(json_object(params.get("OutputStorage")).get("CosOutputStorage"))
    url = json_text(json_object(info.get("UrlInputInfo")).get("Url"))
    input_path = json_text(source.get("Object")) or urlparse(url).path
    directory, _, filename = input_path.rpartition("/")
    input_name, dot, input_ext = filename.rpartition(".")
    if not dot:
        input_name, input_ext = filename, ""
    encode = json_object(json_object(params.get("ImageTask")).get("EncodeConfig"))
    fmt = json_text(encode.get("Format")).lower() or input_ext
    out_dir = json_text(params.get("OutputDir")) or "/" + (directory + "/").lstrip("/")
    name = (json_text(params.get("OutputPath")) or "{inputName}.{format}").replace("{inputName}", input_name)
    name = name.replace("{inputFormat}", input_ext).replace("{format}", fmt)
    return OutputLocation(
        bucket=json_text(target.get("Bucket")) or json_text(source.get("Bucket")),
        region=json_text(target.get("Region")) or json_text(source.get("Region")),
        path=name if name.startswith("/") else out_dir + name,
    )


def output_size_and_type(
    params: JsonDict, out: OutputLocation, in_key: str, in_size: int, in_type: str
) -> tuple[int, str]:
    """The output object's size in bytes and its Content-Type, from the input object's."""
    in_ext, out_ext = _extension(in_key), _extension(out.path)
    content_type = OUTPUT_FORMATS.get(out_ext, (in_type or "application/octet-stream", 1.0))[0]
    ratio = OUTPUT_FORMATS.get(out_ext, ("", 1.0))[1] / OUTPUT_FORMATS.get(in_ext, ("", 1.0))[1]
    enhance = json_object(json_object(params.get("ImageTask")).get("EnhanceConfig"))
    # Super-resolution doubles width and height: four times the pixels.
    scale = 4 if json_object(enhance.get("SuperResolution")).get("Switch") == "ON" else 1
    return max(1, round(in_size * ratio * scale)), content_type


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[2].lower() if "." in name else ""
