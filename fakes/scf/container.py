"""An SCF container for a function's code: its zip unpacked read-only, its handler run by the runtime.

As SCF runs a Python function: the runtime's own interpreter with `-I -B`, the code directory as
the working directory and the only entry on sys.path before the standard library (site-packages
removed), `PYTHONDONTWRITEBYTECODE` set, the function's environment plus what the platform
injects, one warm process for many invocations. Root can write through a chmod, so an audit hook
in the child also refuses every write under the code directory (EROFS), as SCF's read-only mount does.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A hang guard only: a container that never answers is killed and the invocation reported as failed.
ANSWER_TIMEOUT_SECONDS = 300

# Runs in the child. argv: <code dir> <handler "module.function">. One JSON request per stdin line,
# one JSON answer per line on a private copy of the original stdout (fd 1 then points at stderr).
DRIVER = r"""
import errno, importlib, io, json, os, sys, sysconfig, traceback

code, handler_name = os.path.realpath(sys.argv[1]), sys.argv[2]
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
site = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
sys.path[:] = [code] + [p for p in sys.path if p and not any(os.path.realpath(p).startswith(s) for s in site)]


def refuse_writes(event, args):
    if event == "open" and len(args) > 1 and isinstance(args[0], str):
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writing and os.path.abspath(args[0]).startswith(code + os.sep):
            raise PermissionError(errno.EROFS, "Read-only file system", args[0])


sys.addaudithook(refuse_writes)


def send(message):
    answers.write(json.dumps(message) + "\n")
    answers.flush()


def captured(call):
    out, saved = io.StringIO(), (sys.stdout, sys.stderr)
    sys.stdout = sys.stderr = out
    try:
        return call(), None, out.getvalue()
    except BaseException as exc:
        return None, "%s: %s" % (type(exc).__name__, exc), out.getvalue() + traceback.format_exc()
    finally:
        sys.stdout, sys.stderr = saved


module, _, function = handler_name.rpartition(".")
handler, error, logs = captured(lambda: getattr(importlib.import_module(module), function))
send({"error": error, "logs": logs})
for line in sys.stdin:
    request = json.loads(line)
    value, error, logs = captured(lambda: handler(request["event"], request["context"]))
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        value, error = None, "the return value is not JSON: %r" % (value,)
    send({"value": value, "error": error, "logs": logs})
"""


@dataclass(frozen=True)
class CodeMount:
    """A function's code unpacked into `path`, with every write bit removed."""

    path: Path

    @classmethod
    def unpack(cls, zipped: bytes, path: Path) -> CodeMount:
        if path.exists():
            cls(path).remove()
        path.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
            archive.extractall(path)
        for item in [*path.rglob("*"), path]:
            if not item.is_symlink():
                item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        return cls(path)

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())

    def remove(self) -> None:
        for item in [self.path, *self.path.rglob("*")]:
            if not item.is_symlink():
                item.chmod(item.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(self.path, ignore_errors=True)


class ScfContainer:
    """One warm container: `invoke(event, context)` -> (return value, error text or None, what it printed)."""

    def __init__(self, interpreter: str, code: Path, handler: str, env: Mapping[str, str]) -> None:
        container_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "x", **env}
        container_env.update({"USER_CODE_ROOT": str(code), "TENCENTCLOUD_RUNENV": "SCF"})
        self._proc = subprocess.Popen(
            [interpreter, "-I", "-B", "-c", DRIVER, str(code), handler],
            cwd=code,
            env=container_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = self._answer()
        self.load_error: str | None = ready.get("error")
        self.load_logs: str = ready.get("logs", "")

    def invoke(self, event: Any, context: Mapping[str, Any]) -> tuple[Any, str | None, str]:
        if self.load_error:
            return None, f"the handler did not load: {self.load_error}", self.load_logs
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"event": event, "context": dict(context)}) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            return None, "the container is gone", ""
        answer = self._answer()
        return answer.get("value"), answer.get("error"), answer.get("logs", "")

    def _answer(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        reader = _LineReader(self._proc.stdout)
        line = reader.read(ANSWER_TIMEOUT_SECONDS)
        if not line:
            self._proc.kill()
            _, err = self._proc.communicate(timeout=30)
            return {"error": f"the container exited without answering: {err.strip()[-2000:]}", "logs": ""}
        return dict(json.loads(line))

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate(timeout=30)


class _LineReader:
    """One line from a pipe, or "" after `timeout` seconds (the child is then killed by the caller)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def read(self, timeout: float) -> str:
        import threading

        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.stream.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return result[0] if result else ""


__all__ = ["ANSWER_TIMEOUT_SECONDS", "CodeMount", "ScfContainer"]
