"""The fake SCF's account: its functions and triggers, one method per API action, and the runs.

No HTTP here: fakes/scf/responses.py authenticates a request, turns its flattened parameters
into a dict and calls the action's method. The code of a function is read from the code store
it is wired to (`Code.CosBucketName` + `-<appid>`, `Code.CosObjectName`), as SCF reads
the zip the deploy uploaded. Wired to a COS account's upload events (`watch_uploads`), an upload
that matches an enabled cos trigger runs the function in an SCF container (fakes/scf/container.py)
under the interpreter `interpreters` names for its Runtime.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from ..core.backend import ServiceBackend
from ..core.faults import Fault
from ..cos import CosBackend, CosError, ObjectCreated
from .container import CodeMount, ScfContainer
from .exceptions import (
    CosBucketNotFound,
    CosObjectNotFound,
    FunctionInUse,
    FunctionNotFound,
    InvalidParameterValue,
    MissingParameter,
    TriggerInUse,
    TriggerNotFound,
)
from .records import Call, Function, Invocation, JsonDict, Trigger

# CreateFunction.Runtime's Python values (docs/tencent-cloud.md#runtimes).
PYTHON_RUNTIMES = ("Python2.7", "Python3.6", "Python3.7", "Python3.9", "Python3.10")
MEMORY_SIZES = (64, *range(128, 3072 + 1, 128))
# What a cos trigger's event names; an upload (PUT) is cos:ObjectCreated:Put.
UPLOAD_EVENTS = ("cos:ObjectCreated:*", "cos:ObjectCreated:Put")


class CodeStore(Protocol):
    """Where SCF takes a function's zip from: COS, or the deploy's code bucket (fakes/cloud)."""

    def get(self, bucket: str, key: str) -> bytes: ...


class ScfBackend(ServiceBackend[Call, Fault]):
    """One SCF account of `appid` in `region`: code read from `code`, cos triggers on `cos`'s buckets.

    `code_root`: where function code is unpacked (read-only) for the containers;
    `interpreters`: Runtime ("Python3.9") -> the interpreter that runs it, or None;
    `platform_env`: what SCF injects into every container (the role's keys, the region, ...).
    """

    def __init__(
        self,
        cos: CosBackend,
        code: CodeStore,
        appid: str,
        region: str,
        code_root: Path,
        interpreters: Callable[[str], str | None],
        platform_env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cos, self.code, self.appid, self.region = cos, code, appid, region
        self.code_root = code_root
        self.interpreters = interpreters
        self.platform_env = dict(platform_env or {})
        self.functions: dict[tuple[str, str], Function] = {}
        self.triggers: list[Trigger] = []
        self.invocations: list[Invocation] = []
        self._mounts: dict[tuple[str, str], CodeMount] = {}
        self._containers: dict[tuple[str, str], ScfContainer] = {}
        self._event_of: Callable[[ObjectCreated], JsonDict] | None = None

    # ---- the API actions ---------------------------------------------------------------------------

    def get_function(self, params: JsonDict) -> JsonDict:
        with self._lock:
            function = self._function(params)
            triggers = [t for t in self.triggers if (t.namespace, t.function) == (function.namespace, function.name)]
        return {**_render_function(function), "Triggers": [_render_trigger(t) for t in triggers]}

    def create_function(self, params: JsonDict) -> JsonDict:
        name, namespace = _required(params, "FunctionName"), params.get("Namespace") or "default"
        code = params.get("Code") or {}
        function = Function(
            name=name,
            namespace=namespace,
            runtime=_runtime(params),
            handler=_handler(params),
            memory_size=_memory(params.get("MemorySize", 128)),
            timeout=_timeout(params.get("Timeout", 3)),
            type=str(params.get("Type") or "Event"),
            install_dependency=str(params.get("InstallDependency") or "FALSE"),
            public_net=str((params.get("PublicNetConfig") or {}).get("PublicNetStatus") or "ENABLE"),
            modified=self.clock(),
        )
        _configure(function, params)
        zipped = self._code(code)
        function.code_bucket, function.code_object = str(code["CosBucketName"]), str(code["CosObjectName"])
        with self._lock:
            if (namespace, name) in self.functions:
                raise FunctionInUse()
            self.functions[(namespace, name)] = function
            self._mount(function, zipped)
        return {}

    def update_function_code(self, params: JsonDict) -> JsonDict:
        code = params.get("Code") or {}
        zipped = self._code(code)
        with self._lock:
            function = self._function(params)
            function.code_bucket, function.code_object = str(code["CosBucketName"]), str(code["CosObjectName"])
            if params.get("Handler"):
                function.handler = _handler(params)
            function.modified = self.clock()
            self._mount(function, zipped)
        return {}

    def update_function_configuration(self, params: JsonDict) -> JsonDict:
        with self._lock:
            function = self._function(params)
            if "MemorySize" in params:
                function.memory_size = _memory(params["MemorySize"])
            if "Timeout" in params:
                function.timeout = _timeout(params["Timeout"])
            _configure(function, params)
            function.modified = self.clock()
            self._retire(function)
        return {}

    def get_alias(self, params: JsonDict) -> JsonDict:
        with self._lock:
            self._function(params)
        name = params.get("Name") or "$DEFAULT"
        return {"Name": name, "FunctionVersion": "$LATEST", "RoutingConfig": {"AdditionalVersionWeights": []}}

    def list_triggers(self, params: JsonDict) -> JsonDict:
        with self._lock:
            function = self._function(params)
            found = [t for t in self.triggers if (t.namespace, t.function) == (function.namespace, function.name)]
        return {"Triggers": [_render_trigger(t) for t in found], "TotalCount": len(found)}

    def create_trigger(self, params: JsonDict) -> JsonDict:
        kind, name = _required(params, "Type"), _required(params, "TriggerName")
        desc = str(params.get("TriggerDesc") or "")
        with self._lock:
            function = self._function(params)
            trigger = Trigger(
                function.name, function.namespace, kind, name, str(params.get("Qualifier") or "$DEFAULT"),
                desc, str(params.get("Enable") or "OPEN") == "OPEN", self.clock(),
            )  # fmt: skip
            if kind == "cos":
                _check_cos_trigger(trigger, self.region)
                try:
                    if self.cos.head_bucket(trigger.cos_bucket) != trigger.cos_region:
                        raise CosBucketNotFound()
                except CosError:
                    raise CosBucketNotFound() from None
            if any((t.type, t.name, t.desc, t.function) == (kind, name, desc, function.name) for t in self.triggers):
                raise TriggerInUse()
            self.triggers.append(trigger)
        return {"TriggerInfo": _render_trigger(trigger)}

    def delete_trigger(self, params: JsonDict) -> JsonDict:
        with self._lock:
            function = self._function(params)
            for trigger in self.triggers:
                if (trigger.function, trigger.type, trigger.name) == (
                    function.name, params.get("Type"), params.get("TriggerName"),
                ):  # fmt: skip
                    self.triggers.remove(trigger)
                    return {}
        raise TriggerNotFound()

    # ---- running functions ---------------------------------------------------------------------------

    def watch_uploads(self, cos: CosBackend, event_of: Callable[[ObjectCreated], JsonDict]) -> None:
        """Run the function whose enabled cos trigger matches each upload to `cos`, with `event_of(upload)`."""
        self._event_of = event_of
        cos.on_object_created(self._on_upload)

    def _on_upload(self, created: ObjectCreated) -> None:
        with self._lock:
            matching = [t for t in self.triggers if t.type == "cos" and _matches(t, created)]
        for trigger in matching:
            self.invocations.append(self.invoke(trigger, created))

    def invoke(self, trigger: Trigger, created: ObjectCreated) -> Invocation:
        assert self._event_of is not None
        with self._lock:
            function = self.functions[(trigger.namespace, trigger.function)]
            mount = self._mounts[(function.namespace, function.name)]
            container = self._containers.get((function.namespace, function.name))
        if container is None:
            interpreter = self.interpreters(function.runtime)
            if interpreter is None:
                return Invocation(function.name, trigger.name, created.key, None, f"no {function.runtime} here", "")
            env = {**function.environment, **self.platform_env}
            container = ScfContainer(interpreter, mount.path, function.handler, env)
            with self._lock:
                self._containers[(function.namespace, function.name)] = container
        context = {
            "function_name": function.name, "namespace": function.namespace, "function_version": "$LATEST",
            "memory_limit_in_mb": function.memory_size, "time_limit_in_ms": function.timeout * 1000,
            "request_id": f"rehearsal-{len(self.invocations) + 1}", "tencentcloud_region": self.region,
            "tencentcloud_appid": self.appid,
        }  # fmt: skip
        value, error, logs = container.invoke(self._event_of(created), context)
        return Invocation(function.name, trigger.name, created.key, value, error, logs)

    def close(self) -> None:
        """Stop every container and unmount every code directory."""
        with self._lock:
            containers, mounts = list(self._containers.values()), list(self._mounts.values())
            self._containers.clear()
            self._mounts.clear()
        for container in containers:
            container.close()
        for mount in mounts:
            mount.remove()

    # ---- state across runs ---------------------------------------------------------------------------

    def saved(self) -> JsonDict:
        with self._lock:
            return {
                "functions": [f.saved() for f in self.functions.values()],
                "triggers": [t.saved() for t in self.triggers],
            }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Functions and triggers as `saved()` gave them (their code is not kept: a deploy uploads it again)."""
        with self._lock:
            for item in saved.get("functions", []):
                function = Function(**item)
                self.functions[(function.namespace, function.name)] = function
            self.triggers = [Trigger(**item) for item in saved.get("triggers", [])]

    # ---- internals ---------------------------------------------------------------------------------

    def _function(self, params: JsonDict) -> Function:
        """Call with the lock held."""
        key = (params.get("Namespace") or "default", _required(params, "FunctionName"))
        if key not in self.functions:
            raise FunctionNotFound(f"Function {key[1]} does not exist in namespace {key[0]}.")
        return self.functions[key]

    def _code(self, code: JsonDict) -> bytes:
        bucket, key = str(code.get("CosBucketName") or ""), str(code.get("CosObjectName") or "")
        if not bucket or not key:
            raise MissingParameter("Code.CosBucketName and Code.CosObjectName are required.")
        try:
            data = self.code.get(f"{bucket}-{self.appid}", key.lstrip("/"))
        except (CosError, KeyError):
            raise CosObjectNotFound(f"cos://{bucket}-{self.appid}/{key.lstrip('/')} does not exist.") from None
        try:
            zipfile.ZipFile(io.BytesIO(data)).testzip()
        except zipfile.BadZipFile:
            raise InvalidParameterValue("Code: the object is not a zip file.") from None
        return data

    def _mount(self, function: Function, zipped: bytes) -> None:
        """Call with the lock held: the new code replaces the old, and the warm container goes."""
        self._retire(function)
        old = self._mounts.pop((function.namespace, function.name), None)
        if old is not None:
            old.remove()
        function.code_sha256 = hashlib.sha256(zipped).hexdigest()
        self._mounts[(function.namespace, function.name)] = CodeMount.unpack(zipped, self.code_root / function.name)

    def _retire(self, function: Function) -> None:
        container = self._containers.pop((function.namespace, function.name), None)
        if container is not None:
            container.close()

    def _clear(self) -> None:
        self.functions.clear()
        self.triggers.clear()
        self.invocations.clear()

    def code_files(self, namespace: str, name: str) -> list[str]:
        """The files of the function's code, relative to its root (what SCF unpacked)."""
        with self._lock:
            mount = self._mounts.get((namespace, name))
        return mount.files() if mount else []


def _required(params: JsonDict, name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise MissingParameter(f"{name} is required.")
    return str(value)


def _runtime(params: JsonDict) -> str:
    runtime = _required(params, "Runtime")
    if runtime.startswith("Python") and runtime not in PYTHON_RUNTIMES:
        raise InvalidParameterValue(f"Runtime {runtime} is not supported.")
    return runtime


def _handler(params: JsonDict) -> str:
    handler = _required(params, "Handler")
    if handler.count(".") < 1 or handler.startswith(".") or handler.endswith("."):
        raise InvalidParameterValue(f"Handler {handler} is not <file>.<function>.")
    return handler


def _memory(value: Any) -> int:
    if str(value).isdigit() and int(value) in MEMORY_SIZES:
        return int(value)
    raise InvalidParameterValue(f"MemorySize {value} is not 64 or a multiple of 128 up to 3072.")


def _timeout(value: Any) -> int:
    if str(value).isdigit() and 1 <= int(value) <= 900:
        return int(value)
    raise InvalidParameterValue(f"Timeout {value} is not 1-900 seconds.")


def _configure(function: Function, params: JsonDict) -> None:
    """The settings CreateFunction and UpdateFunctionConfiguration share."""
    for name, attribute in (("Role", "role"), ("Description", "description")):
        if name in params:
            setattr(function, attribute, str(params[name]))
    if "Environment" in params:
        variables = (params["Environment"] or {}).get("Variables") or []
        # UpdateFunctionConfiguration's one empty pair is how the toolkit says "no variables".
        function.environment = {str(v.get("Key")): str(v.get("Value", "")) for v in variables if v.get("Key")}
    if "DeadLetterConfig" in params:
        config = params["DeadLetterConfig"] or {}
        function.dead_letter = {k: str(v) for k, v in config.items()} or None


def _check_cos_trigger(trigger: Trigger, region: str) -> None:
    desc = trigger.description()
    if not isinstance(desc.get("event"), str) or not isinstance(desc.get("filter"), dict):
        raise InvalidParameterValue('TriggerDesc must be {"event": ..., "filter": {"Prefix": ..., "Suffix": ...}}.')
    if trigger.cos_region != region:
        raise InvalidParameterValue(f"The bucket {trigger.name} is not in the function's region {region}.")


def _matches(trigger: Trigger, created: ObjectCreated) -> bool:
    desc = trigger.description()
    event = desc.get("event")
    prefix, suffix = (desc.get("filter") or {}).get("Prefix", ""), (desc.get("filter") or {}).get("Suffix", "")
    return (
        trigger.enable
        and trigger.cos_bucket == created.bucket
        and trigger.cos_region == created.region
        and event in UPLOAD_EVENTS
        and created.key.startswith(prefix or "")
        and created.key.endswith(suffix or "")
    )


def _render_function(function: Function) -> JsonDict:
    rendered: JsonDict = {
        "FunctionName": function.name, "Namespace": function.namespace, "Runtime": function.runtime,
        "Handler": function.handler, "MemorySize": function.memory_size, "Timeout": function.timeout,
        "Type": function.type, "Role": function.role, "Description": function.description,
        "Environment": {"Variables": [{"Key": k, "Value": v} for k, v in function.environment.items()]},
        "Status": function.status, "StatusReasons": [], "Qualifier": "$LATEST", "Tags": [],
        "CodeSize": 0, "InstallDependency": function.install_dependency,
    }  # fmt: skip
    if function.dead_letter:
        rendered["DeadLetterConfig"] = dict(function.dead_letter)
    return rendered


def _render_trigger(trigger: Trigger) -> JsonDict:
    return {
        "Type": trigger.type, "TriggerName": trigger.name, "TriggerDesc": trigger.desc,
        "Qualifier": trigger.qualifier, "Enable": 1 if trigger.enable else 0,
        "FunctionName": trigger.function, "Namespace": trigger.namespace,
    }  # fmt: skip
