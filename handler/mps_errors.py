"""The one error type the MPS edge raises, and the codes the edge gives transport faults.

Kept apart from handler/mps_client.py so the decision code (retry, submit) can name errors
without importing the SDK: skipped records then cost no SDK import at cold start.
"""

from __future__ import annotations


class MpsCallError(Exception):
    """`code` is MPS's wire code (e.g. RequestLimitExceeded) or one of the edge's own below."""

    def __init__(self, code: str, message: str, request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


# The edge's own codes: a 200 whose body could not be read, or no answer at all.
INVALID_RESPONSE = "InvalidResponse"  # an answer that is not MPS's JSON envelope
