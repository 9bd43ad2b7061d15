"""Run the BUILT package the way SCF runs it: a warm "container" process under SCF's own runtimes.

SCF offers Python3.9 and Python3.10, sets PYTHONDONTWRITEBYTECODE and mounts the code directory
read-only. This module (stdlib only, so dev.py can import it with any Python 3.9+) provides:

- `find_runtime("3.9")`: the interpreter for an SCF runtime ($AUTOENHANCE_SCF_PYTHON_3_9, else
  `pyenv prefix`, the pyenv versions directory, `python3.9` on PATH), each candidate verified by
  running it; `RuntimeNotFound` (with the install hint) when there is none.
- `PackageBuilds`: `autoenhance package --runtime PythonX.Y` once per runtime and session (its
  bytecode is compiled by that runtime's interpreter), plus a copy with every write bit removed,
  which is what the containers run.
- `ScfContainer`: one long-lived child `pythonX.Y -I -B -c DRIVER <package> index.main_handler`
  whose sys.path is exactly [package] + the interpreter's stdlib (site-packages and any import
  hook a .pth installed are removed). The parent talks to it over stdin and a private dup of the
  child's original stdout, one JSON message per line; the function's own stdout/stderr are
  captured per invocation (fd 1 itself is pointed at stderr so nothing can corrupt the protocol).
  `invoke(event, context)` returns an `Invocation` (the JSON return value, or the exception's
  class, message, `.summary` and traceback, plus the log lines printed meanwhile);
  `inspect()` returns a `ContainerReport` (sys.version_info, sys.path, modules loaded from
  outside the package and the stdlib, bytecode or other files that appeared in the package,
  every file write attempted).

Tests run as root here, and the kernel lets root write through a chmod. So the driver also installs
an audit hook (sys.addaudithook) that refuses, with EROFS, any open-for-writing, mkdir, rename,
remove, chmod... under the package directory, and records every write attempt anywhere: the code
directory is read-only for the function whoever runs the suite.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The tests' own deploy project (the shipped example's values; its .env stored as `dotenv`): a user's
# top-level serverless.yml, .env and image-task.json never change what the built package holds here.
FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixtures" / "project"
if str(ROOT) not in sys.path:  # dev.py loads this file by path, with whatever Python runs it
    sys.path.insert(0, str(ROOT))

# Re-exported: the tests and dev.py take these from here.
from autoenhance.runtimes import (  # noqa: F401
    SCF_RUNTIMES,
    RuntimeNotFound,
    ScfRuntime,
    install_hint,
    locate_runtime,
    runtime_env_var,
)

# A hang guard only (a child that never answers is killed and the test fails); never a speed check.
ANSWER_TIMEOUT_SECONDS = 120.0


class ContainerError(RuntimeError):
    """The child container died, hung, or could not load the handler."""


# ---- finding the runtimes ----------------------------------------------------------------------


def marker_for(version: str) -> str:
    """The pytest marker carried by the tests that need this runtime's interpreter: scf_python39."""
    return "scf_python" + version.replace(".", "")


def in_ci() -> bool:
    """CI is set (CI=true, as CI services and .ci/run set it): a missing runtime then fails the run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_message(version: str) -> str:
    """The line dev.py prints, and RuntimeNotFound's message starts with."""
    return (
        f"SCF runtime Python {version} not found: the built package was not tested under it ({install_hint(version)})"
    )


def find_runtime(version: str) -> ScfRuntime:
    """The interpreter for this SCF runtime; RuntimeNotFound (never a skip) when it is missing."""
    runtime = locate_runtime(version)
    if runtime is None:
        hint = (
            "CI must test the built package under every SCF runtime"
            if in_ci()
            else f'to run the rest without it: pytest -m "not {marker_for(version)}" (python3 dev.py test does that)'
        )
        raise RuntimeNotFound(f"{missing_message(version)}; {hint}")
    return runtime


# ---- building the package -------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltPackage:
    version: str
    path: Path  # as `autoenhance package` wrote it
    readonly: Path  # a copy without any write bit: what the containers run
    build_output: str


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [*sorted(root.rglob("*"), reverse=True), root]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        if writable:
            mode |= stat.S_IWUSR
        else:
            mode &= ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)


class PackageBuilds:
    """One `autoenhance package` per runtime for the whole session, and its read-only copy."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._built: dict[str, BuiltPackage] = {}
        self._failed: dict[str, RuntimeError] = {}  # a failed build is not retried by every test
        self._lock = threading.Lock()

    def get(self, version: str) -> BuiltPackage:
        with self._lock:
            if version in self._failed:
                raise self._failed[version]
            if version not in self._built:
                try:
                    self._built[version] = self._build(version)
                except RuntimeError as exc:
                    self._failed[version] = exc
                    raise
            return self._built[version]

    def _build(self, version: str) -> BuiltPackage:
        out = self.workdir / f"python{version}" / "scf"
        cmd = [sys.executable, "-m", "autoenhance.cli", "package", "--runtime", f"Python{version}", "--out", str(out)]
        # The fixture project: the shipped serverless.yml with .env.example's values, as a user deploys
        # it after `cp .env.example .env`.
        project = self.workdir / f"python{version}" / "project"
        project.mkdir(parents=True, exist_ok=True)
        for name, copy in (
            ("serverless.yml", "serverless.yml"),
            ("image-task.json", "image-task.json"),
            ("dotenv", ".env"),
        ):
            shutil.copyfile(FIXTURE_PROJECT / name, project / copy)
        env = {**os.environ, "AUTOENHANCE_PROJECT_DIR": str(project)}
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        if run.returncode != 0:
            raise RuntimeError(
                f"`autoenhance package --runtime Python{version}` failed ({run.returncode}):\n{run.stdout}{run.stderr}"
            )
        readonly = self.workdir / f"python{version}" / "readonly" / "scf"
        shutil.copytree(out, readonly, symlinks=True)
        _chmod_tree(readonly, writable=False)
        return BuiltPackage(version, out, readonly, run.stdout.strip())

    def close(self) -> None:
        for built in self._built.values():  # so the temporary directory can be removed
            _chmod_tree(built.readonly, writable=True)


# ---- the container ------------------------------------------------------------------------------

# Runs in the child (Python 3.9+, stdlib only). argv: <package dir> <handler "module.function">.
DRIVER = r'''
import sys


def _driver():
    import errno, importlib, io, json, os, sysconfig, traceback

    pkg, handler_name = os.path.realpath(sys.argv[1]), sys.argv[2]

    # The protocol: requests on stdin, answers on a private copy of the original stdout. fd 1
    # then points at stderr, so nothing the function writes can corrupt the protocol.
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    proto_in = sys.stdin.buffer

    def send(message):
        proto_out.write(json.dumps(message, ensure_ascii=True).encode("ascii") + b"\n")
        proto_out.flush()

    def under(path, roots):
        return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    paths = sysconfig.get_paths()
    site_dirs = sorted({os.path.realpath(paths[k]) for k in ("purelib", "platlib")})
    stdlib_dirs = sorted({os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib")})

    def allowed(path):
        real = os.path.realpath(path)
        return under(real, [pkg]) or (under(real, stdlib_dirs) and not under(real, site_dirs))

    # SCF's /var/user: sys.path is the package, then the interpreter's own standard library.
    sys.path[:] = [pkg] + [p for p in sys.path if p and not under(os.path.realpath(p), site_dirs)]
    sys.path_importer_cache.clear()
    # An import hook a site-packages .pth installed at start-up (setuptools' distutils shim)
    # must not serve the package's imports, nor count as the package's.
    sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__module__", "").startswith("_frozen_importlib")]
    startup_site_modules = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if isinstance(origin, str) and not allowed(origin):
            startup_site_modules.append([name, origin])
            del sys.modules[name]
    importlib.invalidate_caches()

    # A read-only code directory, enforced even for root: refuse every write under the package.
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    path_events = {
        "os.mkdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1), "os.remove": (0,), "os.rmdir": (0,),
        "os.symlink": (1,), "os.link": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
        "os.utime": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
        "shutil.move": (0, 1), "shutil.chown": (0,), "os.chflags": (0,), "os.mkfifo": (0,), "os.mknod": (0,),
    }
    writes = {"package": [], "elsewhere": []}

    def audit(event, args):
        if event == "open":
            target, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags
            )
            targets = [target] if writing else []
        elif event in path_events:
            targets = [args[i] for i in path_events[event] if i < len(args)]
        else:
            return
        for target in targets:
            if isinstance(target, bytes):
                target = os.fsdecode(target)
            if not isinstance(target, str):
                continue  # a file descriptor: already open
            full = os.path.abspath(target)
            if under(full, [pkg]):
                writes["package"].append([event, full])
                raise PermissionError(errno.EROFS, "Read-only file system (the SCF code directory)", full)
            writes["elsewhere"].append([event, full])

    sys.addaudithook(audit)

    def listing():
        found = []
        for root, dirs, files in os.walk(pkg):
            found += [os.path.join(root, d) + os.sep for d in dirs] + [os.path.join(root, f) for f in files]
        return found

    initial = set(listing())

    class Capture:
        """The function's stdout and stderr for one invocation, encoded as the real streams are."""

        def __enter__(self):
            self.saved = sys.stdout, sys.stderr
            self.streams = [
                io.TextIOWrapper(io.BytesIO(), encoding=s.encoding, errors=s.errors, newline="\n", write_through=True)
                for s in (sys.__stdout__, sys.__stderr__)
            ]
            sys.stdout, sys.stderr = self.streams
            return self

        def __exit__(self, *exc):
            sys.stdout, sys.stderr = self.saved
            self.text = []
            for s in self.streams:
                s.flush()
                self.text.append(s.buffer.getvalue().decode(s.encoding, "backslashreplace"))
            return False

    def describe(exc):
        summary = getattr(exc, "summary", None)
        try:
            json.dumps(summary)
        except (TypeError, ValueError):
            summary = {"unserializable": repr(summary)}
        return {
            "type": type(exc).__name__,
            "module": type(exc).__module__,
            "classes": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
            "repr": repr(exc),
            "summary": summary,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        }

    handler, load_error = None, None
    with Capture() as cap:
        try:
            module_name, function_name = handler_name.rsplit(".", 1)
            handler = getattr(importlib.import_module(module_name), function_name)
        except BaseException as exc:
            load_error = describe(exc)
    send({"op": "ready", "error": load_error, "stdout": cap.text[0], "stderr": cap.text[1],
          "version_info": list(sys.version_info), "startup_site_modules": startup_site_modules})

    while True:
        line = proto_in.readline()
        if not line:
            return
        request = json.loads(line.decode("utf-8"))
        op = request["op"]
        if op == "exit":
            send({"op": "bye"})
            return
        if op == "invoke":
            answer = {"op": "result", "value": None, "error": None, "unserializable": None}
            for name, value in (request.get("environ") or {}).items():  # SCF rotates the role's keys
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            with Capture() as cap:
                try:
                    value = handler(request["event"], request["context"])
                except BaseException as exc:
                    answer["error"] = describe(exc)
                else:
                    try:
                        json.dumps(value)  # SCF returns the value to the caller as JSON
                        answer["value"] = value
                    except (TypeError, ValueError) as exc:
                        answer["unserializable"] = f"{exc}: {value!r}"
            answer["stdout"], answer["stderr"] = cap.text
            answer["new_files"] = sorted(set(listing()) - initial)  # bytecode or anything else, so far
            answer["writes"] = writes
            send(answer)
        elif op == "inspect":
            outside, package_modules = [], 0
            for name, module in sorted(sys.modules.items()):
                origins = [getattr(module, "__file__", None)] + list(getattr(module, "__path__", None) or [])
                origins = [o for o in origins if isinstance(o, str)]
                package_modules += any(under(os.path.realpath(o), [pkg]) for o in origins)
                outside += [[name, o] for o in origins if not allowed(o)]
            now = listing()
            send({
                "op": "report",
                "version_info": list(sys.version_info),
                "version": sys.version,
                "executable": sys.executable,
                "sys_path": list(sys.path),
                "stdlib_dirs": stdlib_dirs,
                "site_dirs": site_dirs,
                "package": pkg,
                "cwd": os.getcwd(),
                "dont_write_bytecode": sys.dont_write_bytecode,
                "flags": {"isolated": sys.flags.isolated, "dont_write_bytecode": sys.flags.dont_write_bytecode},
                "environ_dont_write_bytecode": os.environ.get("PYTHONDONTWRITEBYTECODE"),
                "modules": sorted(sys.modules),
                "package_modules": package_modules,
                "outside": outside,
                "startup_site_modules": startup_site_modules,
                "bytecode": sorted(p for p in now if "__pycache__" in p.split(os.sep) or p.endswith((".pyc", ".pyo"))),
                "new_files": sorted(set(now) - initial),
                "writes": writes,
            })
        elif op == "selftest":
            # Proves the guards can fail: a write and a bytecode write into the code directory,
            # and an import that only site-packages could satisfy.
            import py_compile
            results = {}
            try:
                with open(os.path.join(pkg, "probe.txt"), "w") as f:
                    f.write("x")
                results["write"] = "written"
            except OSError as exc:
                results["write"] = errno.errorcode.get(exc.errno, str(exc.errno))
            try:
                py_compile.compile(os.path.join(pkg, "index.py"), doraise=True)
                results["bytecode"] = "written"
            except (OSError, py_compile.PyCompileError) as exc:
                results["bytecode"] = type(exc).__name__
            try:
                importlib.import_module(request.get("module", "pip"))
                results["import"] = "imported"
            except ImportError as exc:
                results["import"] = type(exc).__name__
            send({"op": "selftest", **results})
        else:
            send({"op": "error", "message": f"unknown op {op!r}"})


_driver()
'''


def scf_context(request_id: str = "scf-req-1", time_limit_ms: int = 60_000, **extra: Any) -> dict[str, Any]:
    """A context shaped like the one SCF's Python runtime passes (a plain dict)."""
    return {
        "callbackWaitsForEmptyEventLoop": True,
        "memory_limit_in_mb": 64,
        "time_limit_in_ms": time_limit_ms,
        "request_id": request_id,
        "function_version": "$LATEST",
        "function_name": "mps-autoenhance",
        "namespace": "default",
        "tencentcloud_region": "ap-guangzhou",
        "tencentcloud_appid": "1250000000",
        "tencentcloud_uin": "100000000001",
        **extra,
    }


@dataclass(frozen=True)
class HandlerError:
    """An exception that escaped main_handler, as SCF would report it."""

    type: str
    module: str
    classes: list[str]  # the exception class and its bases, by name
    message: str
    repr: str
    summary: Any  # RecordsNotSubmittedError.summary, else None
    traceback: str


@dataclass(frozen=True)
class Invocation:
    """One call of main_handler in the container."""

    value: Any  # the JSON return value (None when it raised)
    error: HandlerError | None
    unserializable: str | None  # set when the return value was not JSON
    stdout: str
    stderr: str
    logs: list[dict[str, Any]] = field(default_factory=list)  # stdout's JSON lines
    non_json: list[str] = field(default_factory=list)  # stdout lines that are not JSON objects
    new_files: list[str] = field(default_factory=list)  # files that appeared in the package since start
    writes: dict[str, list[list[str]]] = field(default_factory=dict)  # every write attempted since start

    @property
    def ok(self) -> bool:
        return self.error is None and self.unserializable is None

    def returned(self) -> Any:
        """The return value; AssertionError with the traceback when the handler raised."""
        assert self.unserializable is None, f"the return value is not JSON: {self.unserializable}"
        assert self.error is None, f"main_handler raised {self.error.type}: {self.error.traceback}"
        return self.value

    def raised(self, type_name: str) -> HandlerError:
        assert self.error is not None, f"main_handler returned {self.value!r}, expected {type_name}"
        assert self.error.type == type_name, f"expected {type_name}, got {self.error.traceback}"
        return self.error

    def records_logged(self) -> list[dict[str, Any]]:
        return [line for line in self.logs if str(line.get("message", "")).startswith("record ")]

    def everything(self) -> str:
        """All the function showed: logs, stderr, return value, error text, summary, traceback."""
        parts = [self.stdout, self.stderr, json.dumps(self.value, ensure_ascii=False), self.unserializable or ""]
        if self.error:
            e = self.error
            parts += [e.message, e.repr, e.traceback, json.dumps(e.summary, ensure_ascii=False)]
        return "\n".join(parts)


@dataclass(frozen=True)
class ContainerReport:
    """What the child saw of itself (see DRIVER's "inspect")."""

    version_info: list[Any]
    version: str
    executable: str
    sys_path: list[str]
    stdlib_dirs: list[str]
    site_dirs: list[str]
    package: str
    cwd: str
    dont_write_bytecode: bool
    flags: dict[str, int]
    environ_dont_write_bytecode: str | None
    modules: list[str]
    package_modules: int
    outside: list[list[str]]  # [module, file] loaded from outside the package and the stdlib
    startup_site_modules: list[list[str]]  # loaded by the interpreter's start-up (.pth), then removed
    bytecode: list[str]
    new_files: list[str]
    writes: dict[str, list[list[str]]]  # "package": refused writes; "elsewhere": allowed ones


def _parse_logs(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    logs, other = [], []
    # Lines end at "\n" only, as on the wire: str.splitlines() would also split at U+2028, U+2029 and
    # U+0085, which JSON written with ensure_ascii=False may carry raw (from an object key).
    lines = stdout.split("\n")
    if lines[-1] == "":
        lines.pop()  # after the last "\n" (or an empty output)
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            logs.append(parsed)
        else:
            other.append(line)
    return logs, other


class ScfContainer:
    """A warm SCF container: one child process of `runtime`, running `package`, kept for many invocations."""

    def __init__(self, runtime: ScfRuntime, package: Path, env: Mapping[str, str], handler: str = "index.main_handler"):
        self.runtime, self.package, self.handler = runtime, Path(package), handler
        self.env = dict(env)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._answers: queue.Queue[bytes | None] = queue.Queue()
        self._proc = subprocess.Popen(
            [runtime.executable, "-I", "-B", "-c", DRIVER, str(self.package), handler],
            cwd=self.package,  # SCF's working directory is the code directory (/var/user)
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._answer()
        self.startup_output: str = ready["stdout"] + ready["stderr"]  # what importing the handler printed
        self.version_info: list[Any] = ready["version_info"]
        if ready["error"]:
            self.close()
            raise ContainerError(
                f"the package did not load under Python {runtime.version}:\n{ready['error']['traceback']}"
            )

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def _answer(self) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=ANSWER_TIMEOUT_SECONDS)
        except queue.Empty:
            self._proc.kill()
            raise ContainerError(f"no answer in {ANSWER_TIMEOUT_SECONDS:.0f} s; stderr:\n{self.stderr()}") from None
        if line is None:
            self._proc.wait(timeout=30)
            raise ContainerError(f"the container exited ({self._proc.returncode}); stderr:\n{self.stderr()}")
        return dict(json.loads(line))

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message, ensure_ascii=True).encode("ascii") + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise ContainerError(f"the container is gone; stderr:\n{self.stderr()}") from None
        return self._answer()

    def invoke(
        self, event: Any, context: Mapping[str, Any] | None = None, environ: Mapping[str, str | None] | None = None
    ) -> Invocation:
        """Call main_handler(event, context); `environ` first updates the container's os.environ
        (None removes a variable), as SCF does when it rotates the execution role's keys."""
        request = {"op": "invoke", "event": event, "context": dict(context or scf_context())}
        answer = self._request({**request, "environ": dict(environ or {})})
        logs, other = _parse_logs(answer["stdout"])
        return Invocation(
            value=answer["value"],
            error=HandlerError(**answer["error"]) if answer["error"] else None,
            unserializable=answer["unserializable"],
            stdout=answer["stdout"],
            stderr=answer["stderr"],
            logs=logs,
            non_json=other,
            new_files=answer["new_files"],
            writes=answer["writes"],
        )

    def inspect(self) -> ContainerReport:
        answer = self._request({"op": "inspect"})
        answer.pop("op")
        return ContainerReport(**answer)

    def selftest(self, module: str = "pip") -> dict[str, str]:
        answer = self._request({"op": "selftest", "module": module})
        answer.pop("op")
        return answer

    def stderr(self) -> str:
        """Everything the child wrote to its real stderr so far (outside the per-invocation capture)."""
        fd = self._stderr.fileno()  # shared with the child: pread, so its write offset never moves
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "backslashreplace")

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._request({"op": "exit"})
                self._proc.wait(timeout=30)
            except (ContainerError, subprocess.TimeoutExpired, OSError, ValueError):
                self._proc.kill()
                self._proc.wait(timeout=30)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream:
                stream.close()
        self._stderr.close()


def container_env(function_env: Mapping[str, str], **overrides: str | None) -> dict[str, str]:
    """The environment of an SCF container: PATH, PYTHONDONTWRITEBYTECODE=1, then `function_env`
    (configuration and the role's keys); an override of None removes a variable."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **function_env}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
