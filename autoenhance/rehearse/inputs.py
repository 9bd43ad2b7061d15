"""What the Framework hands the scf component: serverless.yml's inputs resolved, `src` zipped.

- Every `${env:NAME}` resolves from the shell and `.env` as check-deploy resolves it
  (autoenhance/deploy_config.py); a reference that does not resolve stops the rehearsal, naming
  the input, since the Framework would deploy the text "undefined" or drop the input.
- `src` becomes the zip of `src.src` as the Framework's CLI makes it (platform-client-china
  `getFilesAndMap`): every file under it, dotfiles included, minus `.git` and each `src.exclude`
  glob, mode 0755 when executable else 0644. The original stays as `srcOriginal`, as the CLI keeps it.
"""

from __future__ import annotations

import copy
import fnmatch
import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..deploy_config import Project, deployed_variables, inputs_of, resolve

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same tree gives the same zip


class DeployInputs(NamedTuple):
    inputs: dict[str, Any]  # what Scf.deploy receives (src: the zip's path)
    instance: str  # serverless.yml's top-level name: the component's default names use it
    src_dir: Path
    excluded: list[str]  # files left out by src.exclude / .git


class InputError(ValueError):
    """serverless.yml cannot be deployed as resolved (an unset ${env:...}, no src)."""


def deploy_inputs(project: Project, shell: Mapping[str, str], zip_path: Path) -> DeployInputs:
    lookup = project.lookup(shell)
    raw = copy.deepcopy(inputs_of(project.doc))
    missing: set[str] = set()
    resolved: dict[str, Any] = {k: resolve(v, lookup, missing) for k, v in raw.items() if k != "environment"}
    if "environment" in raw:
        variables, _, unset = deployed_variables(project.doc, lookup)
        missing |= unset
        resolved["environment"] = {"variables": variables}
    if missing:
        names = ", ".join(f"${{env:{n}}}" for n in sorted(missing))
        raise InputError(f"{names} not set in the shell or {project.root / '.env'}: the deploy would send 'undefined'")
    src = resolved.get("src")
    src_dir_text = src.get("src") if isinstance(src, dict) else src
    if not isinstance(src_dir_text, str):
        raise InputError("inputs.src: no directory to deploy (src.src)")
    src_dir = (project.root / src_dir_text).resolve()
    if not src_dir.is_dir():
        raise InputError(f"inputs.src: {src_dir} does not exist (run autoenhance package)")
    exclude = [".git", *[str(p) for p in (src.get("exclude") or [] if isinstance(src, dict) else [])]]
    excluded = zip_tree(src_dir, exclude, zip_path)
    resolved["srcOriginal"] = src if isinstance(src, dict) else {"src": src}
    resolved["src"] = str(zip_path)
    instance = str(project.doc.get("name") or "") if isinstance(project.doc, dict) else ""
    return DeployInputs(resolved, instance, src_dir, excluded)


def zip_tree(root: Path, exclude: list[str], out: Path) -> list[str]:
    """Zip `root` into `out` as the CLI does; returns the files `exclude` left out."""
    kept: list[str] = []
    left_out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        relative_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(filenames):
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            (left_out if _excluded(relative, exclude) else kept).append(relative)
        dirnames.sort()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in sorted(kept):
            path = root / relative
            info = zipfile.ZipInfo(relative, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.create_system = 3  # UNIX, as jszip writes with platform: "UNIX"
            archive.writestr(info, path.read_bytes())
    return left_out


def _excluded(relative: str, patterns: list[str]) -> bool:
    """fast-glob's ignore: a pattern matches the path or one of its parent directories."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.strip()
        pattern = pattern.removeprefix("./")
        pattern = pattern.rstrip("/")
        for candidate in candidates:
            if _glob(candidate, pattern):
                return True
    return False


def _glob(path: str, pattern: str) -> bool:
    if "**" in pattern:
        return fnmatch.fnmatchcase(path, pattern.replace("**/", "*").replace("/**", "/*"))
    if pattern.count("/") != path.count("/"):
        return False
    return all(fnmatch.fnmatchcase(p, q) for p, q in zip(path.split("/"), pattern.split("/")))
