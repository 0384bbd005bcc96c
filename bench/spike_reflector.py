"""A STAMP reflector whose replies are held in delay spikes: a WAN whose uplink fills now and then.

    ip netns exec NS python -m bench.spike_reflector --listen ADDR [--spike-ms 150-400]
                                                     [--every-ms 3000] [--seed N]

Every ``--every-ms`` a spike starts: for a random 150-400 ms every reply is held, and at the
spike's end all held replies leave, in order (a queue that stalled and drains: nothing is lost,
nothing is reordered). The held time is path time, as with the agent's ``--lab-delay-ms``: T2 is
taken when a reply leaves. Prints ``ready`` once bound and one line per spike
(``spike N held MS ms, R replies``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys

from failover.agent import StampReflector
from failover.net.prober import Datagram, receive_datagrams


class SpikeReflector(StampReflector):
    def __init__(self, address: str, port: int, spike_ms: tuple[int, int], every_ms: int, seed: int | None) -> None:
        super().__init__(address, port)
        self.spike_ms, self.every_s = spike_ms, every_ms / 1000
        self.rng = random.Random(seed)
        self.spikes = 0
        self._holding = False
        self._held: list[Datagram] = []
        self._next_spike = 0.0
        self._spike_ms = 0

    def start(self) -> None:
        super().start()
        self._next_spike = self._loop.time() + self.every_s

    def _readable(self) -> None:
        assert self._sock is not None
        now = self._loop.time()
        if now >= self._next_spike and not self._holding:
            self._next_spike += self.every_s
            self._spike_ms = self.rng.randint(*self.spike_ms)
            self.spikes += 1
            self._holding = True
            self._loop.call_at(now + self._spike_ms / 1000, self._release)
        for dgram in receive_datagrams(self._sock):
            if self._holding:
                self._held.append(dgram)
            else:
                self._reply(dgram)

    def _release(self) -> None:
        held, self._held, self._holding = self._held, [], False
        for dgram in held:
            self._reply(dgram, True)
        print(f"spike {self.spikes} held {self._spike_ms} ms, {len(held)} replies", flush=True)


async def serve(args: argparse.Namespace) -> None:
    lo, hi = (int(x) for x in args.spike_ms.split("-"))
    reflector = SpikeReflector(args.listen, args.port, (lo, hi), args.every_ms, args.seed)
    reflector.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    reflector.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=862)
    ap.add_argument("--spike-ms", default="150-400", help="spike length range, ms (LO-HI)")
    ap.add_argument("--every-ms", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=None)
    asyncio.run(serve(ap.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
