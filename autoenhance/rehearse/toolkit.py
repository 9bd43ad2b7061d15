"""The pinned deploy toolkit: installed once from deploy/toolkit's lockfile, run with Node.

`tencent-component-toolkit` is the code the `scf` component calls to create the function and its
triggers; deploy/toolkit/package-lock.json pins it and its whole tree. `npm ci` installs exactly
that into the state directory, once per lockfile (its digest names the directory), with install
scripts off. deploy/toolkit/rehearse.js then runs the component's steps and `Scf.deploy(inputs)`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..deploy_config import ROOT

TOOLKIT_DIR = ROOT / "deploy" / "toolkit"
DRIVER = TOOLKIT_DIR / "rehearse.js"
NODE_MAJOR_MIN = 16  # the toolkit's own engines floor is older; 20 is what CI and these machines run
INSTALL_HINT = (
    "install Node.js 20 with npm (https://nodejs.org/en/download, or your package manager: "
    "apt-get install nodejs npm), then run autoenhance rehearse again"
)
# A hang guard only (npm ci on a slow mirror, a deploy that never returns); never a speed check.
INSTALL_TIMEOUT_SECONDS = 900
DEPLOY_TIMEOUT_SECONDS = 600


class ToolkitError(RuntimeError):
    """Node is missing, the toolkit could not be installed, or the driver died."""


@dataclass(frozen=True)
class Toolkit:
    node: str
    node_modules: Path

    def deploy(self, request: dict[str, Any], workdir: Path, env: dict[str, str]) -> tuple[dict[str, Any], str]:
        """Run the driver: (its result, what the toolkit printed)."""
        request_path, result_path = workdir / "request.json", workdir / "result.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        result_path.unlink(missing_ok=True)
        run = subprocess.run(
            [self.node, str(DRIVER), str(request_path), str(result_path)],
            env={**env, "NODE_PATH": str(self.node_modules)},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=DEPLOY_TIMEOUT_SECONDS,
            check=False,
        )
        printed = run.stdout + run.stderr
        if run.returncode != 0 or not result_path.is_file():
            raise ToolkitError(f"the deploy toolkit stopped ({run.returncode}):\n{printed.strip()[-3000:]}")
        return json.loads(result_path.read_text(encoding="utf-8")), printed


def node_problem() -> str | None:
    """Why the rehearsal cannot run here (no node or npm, or too old), or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        return f"the rehearsal runs Tencent's deploy code, which needs Node.js: {missing} not found on PATH; {INSTALL_HINT}"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < NODE_MAJOR_MIN:
        return f"Node.js {version or '(unknown version)'} is too old for the deploy toolkit; {INSTALL_HINT}"
    return None


def install(cache: Path, env: dict[str, str]) -> Toolkit:
    """The toolkit installed from the lockfile under `cache` (npm ci on first use)."""
    problem = node_problem()
    if problem:
        raise ToolkitError(problem)
    lock = TOOLKIT_DIR / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() + (TOOLKIT_DIR / "package.json").read_bytes()).hexdigest()[:16]
    home = cache / f"toolkit-{digest}"
    done = home / ".installed"
    if not done.is_file():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(TOOLKIT_DIR / name, home / name)
        npm = shutil.which("npm") or "npm"
        run = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        if run.returncode != 0:
            raise ToolkitError(
                f"npm ci of deploy/toolkit failed ({run.returncode}):\n{(run.stdout + run.stderr).strip()[-3000:]}"
            )
        done.write_text(digest + "\n", encoding="utf-8")
    return Toolkit(shutil.which("node") or "node", home / "node_modules")


def npm_env() -> dict[str, str]:
    """What npm ci needs from the user's environment: PATH, HOME and its registry settings, nothing else."""
    keep = ("PATH", "HOME", "USERPROFILE", "APPDATA", "TMPDIR", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep or k.lower().startswith("npm_config_")}
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        if name in os.environ:
            env[name] = os.environ[name]  # the user's own proxy to the registry, never the rehearsal's
    return env
