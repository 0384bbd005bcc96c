"""An HTTP flood at the sidecar's API, as a separate process (bench.api_latency --flood runs it).

    python -m bench.api_flood [--rate 2000] [--seconds 60] [--sse 200] [--url http://127.0.0.1:8080]

Open loop: one request every 1/--rate s whatever the answers do, over 64 keep-alive connections
from 127.0.0.1 (one client, like a monitoring script gone wrong), cycling through
``GET /api/v1/state``, ``GET /api/v1/gateways``, ``GET /metrics`` and ``POST /api/v1/elect`` with
a bad token. Beside it --sse clients open ``GET /api/v1/events``: half never read (idle), half
read 256 bytes a second (slow); a refused one retries after a second, as EventSource does.
SIGINT/SIGTERM end the flood early. Prints one JSON line at the end: answers by status, transport
errors, requests not sent in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from urllib.parse import urlsplit

REQUESTS = [
    b"GET /api/v1/state HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/v1/gateways HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /api/v1/elect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-the-token\r\n"
    b"Content-Type: application/json\r\nContent-Length: 25\r\n\r\n{\"address\": \"10.10.0.20\"}",
]
SSE = b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a keep-alive connection; the answer's status once its body is read."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def flood(host: str, port: int, rate: float, seconds: float, sse: int, connections: int = 64) -> dict:
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    statuses: Counter = Counter()
    errors: Counter = Counter()
    stop = asyncio.Event()

    async def worker() -> None:
        reader = writer = None
        while (item := await q.get()) is not None:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                async with asyncio.timeout(5):
                    statuses[await exchange(reader, writer, REQUESTS[item % len(REQUESTS)])] += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
                errors[type(e).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def stream_client(slow: bool) -> None:
        while not stop.is_set():
            writer = None
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
                writer.write(SSE)
                async with asyncio.timeout(5):
                    head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                statuses[f"sse {status}"] += 1
                if status != 200:
                    await asyncio.sleep(1)  # EventSource's retry
                    continue
                while not stop.is_set():
                    if slow:
                        if not await reader.read(256):
                            break
                    await asyncio.sleep(1)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
                errors[f"sse {type(e).__name__}"] += 1
                await asyncio.sleep(1)
            finally:
                if writer is not None:
                    writer.close()

    halt = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, halt.set)
    streams = [asyncio.create_task(stream_client(slow=i % 2 == 1)) for i in range(sse)]
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    t0 = loop.time() + 0.05
    n = int(rate * seconds)
    late = 0
    for i in range(n):
        if halt.is_set():
            n = i
            break
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif q.qsize() > 4 * connections:
            late += 1  # the server is not keeping up: do not queue without limit here either
            continue
        q.put_nowait(i)
    for _ in workers:
        q.put_nowait(None)
    await asyncio.gather(*workers)
    stop.set()
    for s in streams:
        s.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    elapsed = loop.time() - t0
    return {"scheduled": n, "not_sent_in_time": late, "elapsed_s": round(elapsed, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
            "errors": dict(errors), "answered_per_s": round(sum(v for k, v in statuses.items()
                                                                 if isinstance(k, int)) / elapsed)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sse", type=int, default=200)
    args = ap.parse_args()
    u = urlsplit(args.url)
    print(json.dumps(asyncio.run(flood(u.hostname, u.port or 80, args.rate, args.seconds, args.sse))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
