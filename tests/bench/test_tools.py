"""Parsing what wrk and h2load print (captured from the Debian 12 builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import tools

WRK = """Running 3s test @ http://127.0.0.1:40111/v1/chat/completions
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    45.12ms   20.01ms 125.07ms   70.00%
    Req/Sec     1.10k   213.90     1.49k    79.00%
  Latency Distribution
     50%   37.56ms
     75%   50.00ms
     90%   70.00ms
     99%  125.07ms
  3300 requests in 3.01s, 2.10MB read
  Non-2xx or 3xx responses: 4
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:   1095.08
Transfer/sec:    715.00KB
"""

H2LOAD = """finished in 2.03s, 197.06 req/s, 1.51MB/s
requests: 400 total, 400 started, 400 done, 398 succeeded, 2 failed, 0 errored, 0 timeout
status codes: 398 2xx, 0 3xx, 0 4xx, 2 5xx
traffic: 3.07MB (3219600) total, 11.72KB (12000) headers (space savings 0.00%), 3.05MB data
"""


def test_wrk_summary() -> None:
    run = tools.parse_wrk(WRK)
    assert (run.requests, run.rps, run.errors) == (3300, 1095.08, 7)
    assert run.p50 == pytest.approx(0.03756)
    assert run.p99 == pytest.approx(0.12507)
    assert run.elapsed == pytest.approx(3.01)


def test_wrk_units_and_missing_summary() -> None:
    run = tools.parse_wrk(WRK.replace("37.56ms", "610.00us").replace("125.07ms", "1.20s"))
    assert run.p50 == pytest.approx(0.00061)
    assert run.p99 == pytest.approx(1.2)
    with pytest.raises(ValueError):
        tools.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_h2load_summary_and_log(tmp_path: Path) -> None:
    log = tmp_path / "h2load.log"
    log.write_text("".join(f"1700000000{n:06d}\t200\t{(n + 1) * 1000}\n" for n in range(100)))
    run = tools.parse_h2load(H2LOAD, log)
    assert (run.requests, run.errors, run.rps) == (398, 2, 197.06)
    assert run.p50 == pytest.approx(0.050)
    assert run.p99 == pytest.approx(0.099)
