"""The `autoenhance` commands, one module each.

Each module exposes `add_parser(subparsers)`, which declares the command's options, and
`run(args) -> int`, which does the work and returns the exit code. `autoenhance/cli.py`
assembles them and turns the shared errors into messages and exit codes; `common.py` holds
what more than one command needs. Modules import the SDKs and the fakes inside functions, so
`autoenhance --help` stays quick.
"""
