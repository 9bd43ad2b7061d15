"""Canary secrets: values nothing the function, the CLI or the built package shows may contain.

Used by tests/function/test_secrets.py, tests/cli/test_cli_secrets.py and
tests/system/test_scf_runtimes.py. Deliberately not an identity of fakes/identities.py: the
canaries are searched for everywhere, and a fake accepts them only where a test registers them
(`make_fake_mps(identity=CANARY_ROLE)`).
"""

from __future__ import annotations

import copy
from typing import Any

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION
from fakes.identities import FakeIdentity

# The execution role's keys: the id is not secret, the key and the token are.
CANARY_ROLE = FakeIdentity(
    "FAKEIDcanaryRole000000000000000000",
    "CanaryKey+do/not/leak0123456789abcd",
    "CanaryToken-do-not-leak-7f3a9c1e5b2d4068",
)
# The uploader's Authorization header, which every real COS event record carries.
CANARY_AUTH = (
    "q-sign-algorithm=sha1&q-ak=FAKEIDuploader0000&q-sign-time=1764000000;1764003600"
    "&q-key-time=1764000000;1764003600&q-header-list=host&q-url-param-list=&q-signature=canaryuploadersig0123"
)
SECRETS = {"secret key": CANARY_ROLE.secret_key, "session token": CANARY_ROLE.token, "Authorization": CANARY_AUTH}
# An MPS answer that repeats all three.
ECHO = f"echo key={CANARY_ROLE.secret_key} token={CANARY_ROLE.token} auth={CANARY_AUTH}"


def assert_no_secret(text: str, where: str, secrets: dict[str, Any] = SECRETS) -> None:
    for name, secret in secrets.items():
        assert secret not in text, f"the {name} leaked into {where}:\n{text[:2000]}"


def with_canary_header(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of `event` whose records carry the canary Authorization header."""
    event = copy.deepcopy(event)
    for record in event["Records"]:
        record["event"]["requestParameters"]["requestHeaders"]["Authorization"] = CANARY_AUTH
    return event


def canary_event(*keys: str) -> dict[str, Any]:
    """Uploads of `keys` (default: one) to the sample bucket, each carrying the canary header."""
    return with_canary_header(cos_event([cos_record(BUCKET, REGION, key) for key in keys or ("uploads/cat.jpg",)]))
