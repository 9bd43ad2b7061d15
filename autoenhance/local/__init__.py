"""Running the function on a laptop: what the cloud would provide, emulated in-process.

- `fake_cloud`: the embedded fake MPS and fake COS on loopback ports, and the state file that
  lets the fake MPS remember tasks and SessionIds between runs.
- `scf`: what SCF hands the function: the context dict and the environment variables.
- `demo_bucket`: the objects the embedded fake COS holds for `backfill` without `--live`.
- `credentials`: the keys the CLI signs its own calls with, and the `--live` check.
- `preflight`: `--live`'s reachability check of the real endpoints, before any work starts.
"""
