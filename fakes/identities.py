"""The fake keys the fakes accept, defined once for tests, benchmarks and the CLI's local mode.

Every SecretId starts with FAKEID so none can be mistaken for a real key. The MPS and COS
identities differ, so a test can never pass by mixing up the two services' keys. Each carries
a session token, as an SCF execution role's temporary keys do.
"""

from __future__ import annotations

from typing import NamedTuple


class FakeIdentity(NamedTuple):
    secret_id: str
    secret_key: str
    token: str | None = None

    def environ(self) -> dict[str, str]:
        """What SCF injects into the function for an execution role with these keys."""
        env = {"TENCENTCLOUD_SECRETID": self.secret_id, "TENCENTCLOUD_SECRETKEY": self.secret_key}
        if self.token:
            env["TENCENTCLOUD_SESSIONTOKEN"] = self.token
        return env


# The function's execution role, as the fake MPS knows it.
MPS_ROLE = FakeIdentity(
    "FAKEIDtestFakeMps00000000000000000000", "testFakeMpsSecretKey000000000000", "test-fake-mps-session-token"
)
# The operator's keys the CLI's backfill uses against the fake COS.
COS_ROLE = FakeIdentity(
    "FAKEIDtestFakeCos00000000000000000000", "testFakeCosSecretKey000000000000", "test-fake-cos-session-token"
)
# Keys that rotate in: SCF hands a container new temporary keys while it lives.
ROTATED_ROLE = FakeIdentity("FAKEIDrotatedKey000000000000000000", "rotatedSecret0000000000000000000", "tok-2")
# An operator's long-lived keys (no token), as `replay --live` or `status` use them.
OPERATOR = FakeIdentity("FAKEIDliveUser00000000000000000000", "liveUserSecret000000000000000000")

__all__ = ["COS_ROLE", "MPS_ROLE", "OPERATOR", "ROTATED_ROLE", "FakeIdentity"]
