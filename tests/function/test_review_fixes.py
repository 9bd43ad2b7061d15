"""Defects a review of the call path found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import io
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION, WarmContainer
from handler.config import Endpoint
from handler.credentials import Credentials
from handler.errors import NETWORK_CONNECT_FAILED, MpsCallError
from handler.log import JsonLog, Redactor
from handler.mps_client import MAX_ERROR_CHARS, MpsApi
from handler.results import LogRecord, Outcome, RecordResult, read_record, write_record
from handler.retry import answer_may_be_lost


class NoThreads(ThreadPoolExecutor):
    """A pool that can start no thread, as under a container's thread or memory limit."""

    def _adjust_thread_count(self) -> None:
        raise RuntimeError("can't start new thread")


def test_a_merged_event_whose_worker_cannot_start_is_submitted_in_this_thread(fake_mps):
    container = WarmContainer(fake_mps, {"MPS_CONCURRENCY": "4"})
    container.fn._workers = NoThreads(4)  # type: ignore[union-attr]
    keys = [f"uploads/{i}.jpg" for i in range(5)]
    summary, error = container.outcome(cos_event([cos_record(BUCKET, REGION, k) for k in keys]))
    assert error is None, error
    assert [r["outcome"] for r in summary["results"]] == ["submitted"] * 5
    assert [line["key"] for line in container.records_logged()] == keys
    assert len(fake_mps.backend.tasks) == 5


def full_listener() -> tuple[socket.socket, int, list[socket.socket]]:
    """A listener that accepts nothing and whose queue is full: a connect to it times out (SYNs dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    return server, port, fillers


KEYS = Credentials("AKIDtest", "secret", None)


def test_a_connect_that_never_completed_is_connect_failed_not_a_lost_answer():
    server, port, fillers = full_listener()
    try:
        api = MpsApi(Endpoint("http", f"127.0.0.1:{port}"), REGION, KEYS, 0.5)
        with pytest.raises(MpsCallError) as info:
            api.process_image({"InputInfo": {}}, KEYS, 0.5)
    finally:
        for s in fillers:
            s.close()
        server.close()
    if info.value.code != NETWORK_CONNECT_FAILED:
        pytest.fail(f"{info.value.code}: {info.value.message}")
    assert not answer_may_be_lost(info.value.code)


class GatewayPage(BaseHTTPRequestHandler):
    """A gateway in front of MPS answering 502 with a 70 KB HTML page."""

    PAGE = b"<html><body>" + b"<p>502 Bad Gateway</p>" * 3300 + b"</body></html>"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_gateways_error_page_is_cut_so_the_records_line_stays_readable():
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = MpsApi(Endpoint("http", f"127.0.0.1:{server.server_port}"), REGION, KEYS, 5.0)
        with pytest.raises(MpsCallError) as info:
            api.process_image({"InputInfo": {}}, KEYS, 5.0)
    finally:
        server.shutdown()
        server.server_close()
    error = info.value
    assert error.message.startswith("<html><body><p>502 Bad Gateway")  # text, not a bytes repr
    assert len(error.message) <= MAX_ERROR_CHARS + 40 and error.message.endswith(" characters)")
    result = RecordResult(0, BUCKET, "uploads/a.jpg", Outcome.FAILED, error_code=error.code, error=error.message)
    out = io.StringIO()
    write_record(JsonLog(Redactor(()), out), LogRecord(result, 1_796_653_874.0))
    assert read_record(out.getvalue()) is not None  # report still sees the failed record
