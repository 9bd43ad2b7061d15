"""The embedded demo carries bytes: `generate-event --file` puts a photo into the embedded bucket,
`replay` gets a real output from the fake MPS, and `status` names the local file."""

from __future__ import annotations

import re

from PIL import Image
from repo import autoenhance as run


def test_a_photo_goes_through_the_embedded_demo_and_comes_out_enhanced(env, tmp_path):
    photo = tmp_path / "cat.jpg"
    Image.new("RGB", (120, 80), (200, 120, 40)).save(photo, "JPEG", quality=90)
    event = tmp_path / "cat.json"
    made = run(env, "generate-event", "--bucket", "photos-1250000000", "--region", "ap-guangzhou",
               "--key", "uploads/cat.jpg", "--file", str(photo), "--out", str(event))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "put " in made.stderr and "into the embedded bucket as photos-1250000000/uploads/cat.jpg" in made.stderr

    replayed = run(env, "replay", str(event), "--fresh")
    assert replayed.returncode == 0, replayed.stderr
    [task_id] = re.findall(r"TaskId (\S+)", replayed.stdout)

    status = run(env, "status", task_id, "--wait")
    assert status.returncode == 0, status.stderr
    assert "/enhanced/uploads/cat.jpg.jpeg  SUCCESS 100%" in status.stdout
    [local] = re.findall(r"local file (\S+)", status.stdout)
    with Image.open(local) as out:
        # the default task: super-resolution (2x, approximated) then JPEG
        assert (out.format, out.size) == ("JPEG", (240, 160))
