"""Every exception the handler raises and every error code of its own, each documented once here.

Two kinds of names live here:

- Exceptions. `main_handler` lets exactly three of them out (SCF then retries the invocation and
  finally dead-letters it): `ConfigurationError`, `MalformedEventError` and
  `RecordsNotSubmittedError`. The others are raised and caught inside the handler, or by the CLI,
  which shares this code. (`handler/transport.py`'s `DeadlineExceeded` is a `socket.timeout` the
  HTTP edge raises inside its own sockets and turns into `NETWORK_DEADLINE` before it leaves.)
- Error codes: the `error_code` of a failed record or of an ERROR log line when MPS did not give
  one. MPS's own wire codes (`RequestLimitExceeded`, `InvalidParameterValue.SessionId`, ...) are
  classified in handler/retry.py; the codes below are the function's own, and the HTTP edge's
  codes for what happened on the network (`NetworkError.*`, all transient).

Nothing here does I/O or imports anything outside the standard library's core.
"""

from __future__ import annotations

from typing import Any

# -- the function's own error codes -----------------------------------------------------------------

INVALID_CONFIGURATION = "InvalidConfiguration"  # the environment (or RULES_FILE) was refused at start-up
MALFORMED_EVENT = "MalformedEvent"  # the payload is not a COS trigger event at all
MALFORMED_RECORD = "MalformedRecord"  # one record of the event could not be read
LOOP_GUARD = "LoopGuard"  # the record comes from a bucket the function writes to: never processed
UNSAFE_KEY = "UnsafeKey"  # the key's output location would leave the output directory
OUTPUT_KEY_TOO_LONG = "OutputKeyTooLong"  # the output's key would exceed COS's 850-byte limit
UNKNOWN_RULE = "UnknownRule"  # x-cos-meta-autoenhance names a rule RULES_FILE does not have
MISSING_CREDENTIALS = "MissingCredentials"  # no TENCENTCLOUD_SECRETID/SECRETKEY to sign with
DEADLINE_EXCEEDED = "DeadlineExceeded"  # the invocation's time ran out before the record's call
INTERRUPTED = "Interrupted"  # the caller stopped the invocation (the CLI's Ctrl-C) before the record's call was sent
INVALID_RESPONSE = "InvalidResponse"  # an HTTP 200 whose body is not MPS's JSON envelope
UNKNOWN_ERROR = "UnknownError"  # MPS answered with an Error object that has no Code
CLIENT_ERROR = "ClientError"  # the SDK raised an error without a code

# -- the HTTP edge's codes for transport faults (handler/transport.py decides which) ----------------
# All start with NETWORK_ERROR_PREFIX and are transient; only NETWORK_CONNECT_FAILED is known to
# have sent nothing, so after any other the task may exist although its answer was lost.

NETWORK_ERROR_PREFIX = "NetworkError."
NETWORK_CONNECT_FAILED = "NetworkError.ConnectFailed"  # refused, unreachable, DNS, connect timeout
NETWORK_CONNECTION_LOST = "NetworkError.ConnectionLost"  # reset or closed before an answer arrived
NETWORK_TIMEOUT = "NetworkError.Timeout"  # no byte for the read timeout
NETWORK_DEADLINE = "NetworkError.DeadlineExceeded"  # the call ran into the invocation's deadline
NETWORK_INCOMPLETE_ANSWER = "NetworkError.IncompleteAnswer"  # the body ended before its Content-Length
NETWORK_UNREADABLE_ANSWER = "NetworkError.UnreadableAnswer"  # Content-Encoding the body does not match
NETWORK_TLS = "NetworkError.TLS"  # handshake or certificate failure
NETWORK_OTHER = "NetworkError.Other"  # any other transport exception


# -- exceptions -------------------------------------------------------------------------------------


class ConfigurationError(ValueError):
    """The environment (or RULES_FILE) was refused: one line per problem, each naming its variable.

    Raised by every invocation of a container whose configuration was refused, so no event is lost.
    """

    def __init__(self, problems: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class ImageTaskError(ValueError):
    """An ImageTask was refused: every problem, one per line, naming the field, the value and what is allowed.

    Raised while the configuration is read; the configuration loader turns it into ConfigurationError.
    """

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class RegionError(ValueError):
    """A region name or short region code that is not known (never guessed)."""


class MalformedEventError(ValueError):
    """The invocation payload is not a COS trigger event at all (no `Records` list)."""


class UnsafeKeyError(ValueError):
    """A key whose mirrored output directory could leave the configured output directory."""


class OutputKeyTooLongError(ValueError):
    """A source whose output key would exceed COS's 850-byte key limit: MPS could not write it."""


class MpsCallError(Exception):
    """One MPS call failed. `code` is MPS's wire code (e.g. RequestLimitExceeded) or one of the codes above.

    The HTTP edge (handler/mps_client.py) raises it; the retry loop (handler/submit.py) decides
    what it means. Kept apart from the SDK so that deciding costs no SDK import.
    """

    def __init__(self, code: str, message: str, request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class RecordsNotSubmittedError(RuntimeError):
    """At least one record was not submitted; SCF should retry (the SessionId makes that safe).

    `summary` is what the invocation would have returned: every record's result.
    """

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__(message)
        self.summary = summary
