"""Local fakes of the Tencent Cloud services the function talks to, for tests, benches and the CLI.

`core/` is what both share (HTTP server, faults, credentials, call log, reset); `mps/` and
`cos/` are one service each, laid out as moto lays out a service (backend.py, responses.py,
exceptions.py, ...); `tc3.py` is the API 3.0 signature; `identities.py` the fake keys.
"""
