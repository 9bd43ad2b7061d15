"""What the fake SCF keeps and hands out: functions, triggers, calls and invocations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class Function:
    """One function's configuration, as CreateFunction / UpdateFunction* left it."""

    name: str
    namespace: str
    runtime: str
    handler: str
    memory_size: int
    timeout: int
    type: str = "Event"
    role: str = ""
    description: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    dead_letter: dict[str, str] | None = None
    code_bucket: str = ""  # as sent: without the appid
    code_object: str = ""
    code_sha256: str = ""
    install_dependency: str = "FALSE"
    public_net: str = "ENABLE"
    status: str = "Active"
    modified: float = 0.0

    def saved(self) -> JsonDict:
        return asdict(self)


@dataclass
class Trigger:
    """One trigger. `desc` is TriggerDesc as sent (a JSON string); `enable` is Enable == OPEN."""

    function: str
    namespace: str
    type: str
    name: str
    qualifier: str
    desc: str
    enable: bool
    added: float = 0.0

    @property
    def cos_bucket(self) -> str:
        """The bucket of a cos trigger's domain `<bucket>.cos.<region>.myqcloud.com`."""
        return self.name.split(".cos.", 1)[0]

    @property
    def cos_region(self) -> str:
        return self.name.split(".cos.", 1)[1].split(".", 1)[0] if ".cos." in self.name else ""

    def description(self) -> JsonDict:
        try:
            parsed = json.loads(self.desc)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def saved(self) -> JsonDict:
        return asdict(self)


@dataclass(frozen=True)
class Call:
    """One API request: its action, its parameters (the signature's own fields removed) and the error code."""

    action: str
    params: JsonDict
    error_code: str | None
    time: float


@dataclass(frozen=True)
class Invocation:
    """One run of a function by a trigger: what the handler returned or raised, and what it printed."""

    function: str
    trigger: str
    key: str
    value: Any
    error: str | None  # "ExceptionType: message", or why the function could not run
    logs: str
