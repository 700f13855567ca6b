"""`telespine serve --workers 2` against one worker: ping throughput (not part of pytest).

Usage: .venv/bin/python bench/serve/workers.py [--seconds 8] [--concurrency 16] [--workers 1,2]
                                               [--client-processes 1]

Each run starts a real `telespine serve` (telespine.web.testing_server, SQLite in a temporary
folder) with the given number of workers, then --concurrency clients (threads, each with its own
keep-alive connection) call GET /api/v1/ping for --seconds. Prints requests per second, p50 and
p99 of each, and the ratio of each to the first (aim: 2 workers >= 1.6x one). The clients run
on the same 2-core machine as the server, so the figure is a lower bound of what 2 workers give.
With --client-processes P the client threads are shared out over P processes, so one Python
process's lock is not what limits the clients (the 8-client figure of round 2 was such a limit).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit


def drive(url: str, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            conn.request("GET", "/api/v1/ping")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"ping answered {resp.status}")
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def _drive_part(url: str, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    return drive(url, seconds, concurrency)


def drive_processes(url: str, seconds: float, concurrency: int, processes: int) -> tuple[float, list[float]]:
    """drive() in `processes` processes at once, the clients shared out; pings per second summed."""
    if processes <= 1:
        return drive(url, seconds, concurrency)
    from concurrent.futures import ProcessPoolExecutor

    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        parts = list(pool.map(_drive_part, [url] * processes, [seconds] * processes, shares))
    return sum(rps for rps, _ in parts), [t for _, lat in parts for t in lat]


def main() -> None:
    from telespine.store.db import upgrade
    from telespine.web.testing_server import serve

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--client-processes", type=int, default=1)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.concurrency} clients in {max(args.client_processes, 1)} process(es)")
    results = {}
    for n in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'w.sqlite3'}"
            upgrade(url)
            with serve(url, Path(tmp) / "serve.log", workers=n, timeout=120) as served:
                drive(served.url, 1.0, args.concurrency)  # warm every worker
                rps, lat = drive_processes(served.url, args.seconds, args.concurrency, args.client_processes)
        lat.sort()
        results[n] = rps
        first = results[next(iter(results))]
        print(
            f"{n} worker(s): {rps:.0f} pings/s, p50 {statistics.median(lat) * 1e3:.1f} ms, "
            f"p99 {lat[int(0.99 * (len(lat) - 1))] * 1e3:.1f} ms; ratio to the first: {rps / first:.2f}x"
        )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
