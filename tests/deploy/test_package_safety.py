"""The package never touches what is beside it, and is the same tree whoever builds it.

`--out DIR` once built in a fixed `DIR.staging` that it deleted first, with everything in it, and
crashed when a file or link stood there; file modes followed the builder's umask, so a 077 build
shipped files SCF's runtime user could not read, under the same reported digest.
"""

from __future__ import annotations

import os
import stat

import pytest
from repo import PROJECT

from autoenhance.package import build_package, tree_digest

needs_python39 = pytest.mark.scf_python39


@pytest.fixture
def umask_077():
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def modes(tree):
    return {stat.S_IMODE(p.stat().st_mode) for p in [tree, *tree.rglob("*")] if not p.is_symlink()}


@needs_python39
def test_what_stands_beside_the_output_is_left_alone(tmp_path):
    keep = tmp_path / "scf.staging"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    (tmp_path / "scf.staging.d").write_text("a file")
    (tmp_path / "link.staging").symlink_to(keep)
    report = build_package(tmp_path / "scf", "3.9", bytecode=False, project_root=PROJECT)
    assert (keep / "notes.txt").read_text() == "mine"
    assert (tmp_path / "scf.staging.d").read_text() == "a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.staging", "scf", "scf.staging", "scf.staging.d"]
    assert (report.path / "handler" / "index.py").is_file()


@needs_python39
def test_a_failed_build_leaves_no_staging_directory_behind(tmp_path):
    with pytest.raises(Exception, match="cannot ship"):
        build_package(tmp_path / "scf", "3.9", bytecode=False, files=["no-such-task.json"], project_root=tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_python39
def test_modes_and_digest_do_not_depend_on_the_builders_umask(tmp_path, umask_077):
    strict = build_package(tmp_path / "strict", "3.9", bytecode=False, project_root=PROJECT)
    os.umask(0o022)
    usual = build_package(tmp_path / "usual", "3.9", bytecode=False, project_root=PROJECT)
    assert modes(strict.path) == modes(usual.path) == {0o755, 0o644}
    assert strict.digest == usual.digest


@needs_python39
def test_the_digest_sees_a_mode_change(tmp_path):
    built = build_package(tmp_path / "scf", "3.9", bytecode=False, project_root=PROJECT)
    os.chmod(built.path / "index.py", 0o600)
    assert tree_digest(built.path)[2] != built.digest
