"""What SCF hands the function: a context dict and environment variables.

`replay` calls `main_handler(event, scf_context(event))` as SCF would; `patched_environ` sets the
variables SCF would inject (endpoint, execution-role keys) for the duration of a run only.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_REGION = "ap-guangzhou"
FUNCTION_NAME = "mps-autoenhance"
TIME_LIMIT_MS = 60_000  # serverless.yml's timeout
MEMORY_MB = 128


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ, then restore what was there (or remove what was not)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def event_region(event: Any) -> str:
    """The first record's full region, so the context looks like the function's own region."""
    try:
        bucket = event["Records"][0]["cos"]["cosBucket"]
        region = bucket.get("cosRegion") or ""
        if region:
            return str(region)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return os.environ.get("TENCENTCLOUD_REGION") or DEFAULT_REGION


def scf_context(event: Any) -> dict[str, Any]:
    """A context dict shaped like the one SCF passes to Python functions (docs/tencent-cloud.md#context)."""
    appid = "1250000000"
    with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
        appid = str(event["Records"][0]["cos"]["cosBucket"]["appid"])
    return {
        "memory_limit_in_mb": MEMORY_MB,
        "time_limit_in_ms": TIME_LIMIT_MS,
        "request_id": str(uuid.uuid4()),
        "environment": json.dumps({"SCF_NAMESPACE": "default"}),
        "environ": "SCF_NAMESPACE=default;SCF_NAMESPACE=default",
        "function_version": "$LATEST",
        "function_name": FUNCTION_NAME,
        "namespace": "default",
        "tencentcloud_region": event_region(event),
        "tencentcloud_appid": appid,
        "tencentcloud_uin": "100000000001",
    }
