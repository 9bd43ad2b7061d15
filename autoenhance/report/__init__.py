"""`autoenhance report`'s engine: from the function's log lines to what became of each upload.

The function logs one JSON line per record and forgets the TaskId; MPS has no completion
notification for image tasks, so the only way to learn a task's result is to ask
DescribeImageTaskDetail for it (docs/tencent-cloud.md#describeimagetaskdetail). Read in this order:

1. `autoenhance/function_logs.py` (shared with `usage`): the records in the logs, each read whole
   by the function's own reader, `read_record` (handler/results.py), in whatever wraps it.
2. `autoenhance/mps_queries.py` (shared with `usage`): MPS asked through the function's retry
   loop, paced under the action's rate by the function's pacer.
3. `rows.py`: one upload's typed row, from its log line and MPS's answer.
4. `engine.py`: one run (`ReportRun`): rows in log order as answers arrive, a bounded number of
   queries in flight, each TaskId asked once, Ctrl-C without losing an answer.
5. `state.py`: the tasks whose answer cannot change, so that `--resume` asks MPS no task again.
6. `resubmit.py`: the keys of what failed, for `autoenhance backfill --resubmit --keys`.
7. `summary.py`: the counters and latency percentiles over the rows.

No printing here: autoenhance/commands/report.py renders rows and the summary.
"""


class ReportError(Exception):
    """The report cannot go on (MPS refused the keys, a state file that is not one): exit code 2."""
