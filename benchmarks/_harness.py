"""Side-by-side timing: candidates run in alternating blocks, so machine noise hits all alike."""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable

import redis


class Result:
    """Per-candidate medians, and each candidate's median ratio to the baseline.

    The ratio is taken round by round (each round times every candidate once, in shuffled
    order) and the median of those paired ratios is reported, so slow drifts of a shared,
    noisy machine cancel out instead of favouring whoever ran at a quiet moment.
    """

    def __init__(self, samples: dict[str, list[float]], baseline: str) -> None:
        self.baseline = baseline
        self.medians = {name: statistics.median(v) for name, v in samples.items()}
        base = samples[baseline]
        self.ratios = {
            name: statistics.median(x / b for x, b in zip(v, base, strict=True))
            for name, v in samples.items()
        }


def interleave(
    candidates: dict[str, Callable[[], object]],
    *,
    baseline: str,
    rounds: int = 200,
    per_round: int = 50,
) -> Result:
    """Time every candidate in short alternating blocks; see :class:`Result`."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    order = list(candidates.items())
    for _, fn in order:  # warm up connections and caches
        for _ in range(per_round * 4):
            fn()
    for _ in range(rounds):
        random.shuffle(order)
        for name, fn in order:
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            samples[name].append((time.perf_counter() - start) / per_round)
    return Result(samples, baseline)


def interleave_async(
    candidates: dict[str, Callable[[], Awaitable[object]]],
    *,
    baseline: str,
    rounds: int = 200,
    per_round: int = 50,
) -> Result:
    """:func:`interleave` for coroutine functions, all on one event loop."""

    async def run() -> Result:
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        order = list(candidates.items())
        for _, fn in order:
            for _ in range(per_round * 4):
                await fn()
        for _ in range(rounds):
            random.shuffle(order)
            for name, fn in order:
                start = time.perf_counter()
                for _ in range(per_round):
                    await fn()
                samples[name].append((time.perf_counter() - start) / per_round)
        return Result(samples, baseline)

    return asyncio.run(run())


def commands_during(client: redis.Redis, action: Callable[[], object]) -> dict[str, int]:
    """Redis commands (by name) the server processed while ``action`` ran."""

    def snapshot() -> dict[str, int]:
        stats = client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    before = snapshot()
    action()
    after = snapshot()
    counts = {name: after[name] - before.get(name, 0) for name in after}
    counts["info"] = counts.get("info", 0) - 1  # our own second snapshot
    return {name: n for name, n in counts.items() if n > 0}


def client_commands(port: int, action: Callable[[], object]) -> dict[str, int]:
    """Commands that clients sent to the server while ``action`` ran, by name.

    Read from MONITOR (through redis-cli, into a file: a pipe would fill and stall it),
    which tells them from the commands that Lua scripts run; connection set-up (HELLO,
    CLIENT SETINFO) is left out.
    """
    with tempfile.TemporaryFile("w+") as out:
        monitor = subprocess.Popen(["redis-cli", "-p", str(port), "monitor"], stdout=out)
        try:
            while out.tell() == 0:  # "OK": monitoring has begun
                time.sleep(0.01)
                out.seek(0, 2)
            action()
            time.sleep(0.5)  # let MONITOR catch up
        finally:
            monitor.terminate()
            monitor.wait()
        out.seek(0)
        lines = out.read().splitlines()
    counts: dict[str, int] = {}
    for line in lines:
        if " lua]" in line or '"' not in line:
            continue
        name = line.split('"', 2)[1].lower()
        if name in ("hello", "client"):
            continue
        counts[name] = counts.get(name, 0) + 1
    return counts


def report(title: str, result: Result) -> None:
    print(f"\n{title}")
    for name, value in result.medians.items():
        ratio = result.ratios[name]
        print(f"  {name:<40} {value * 1e6:9.1f} us   {ratio:5.3f}x {result.baseline}")


def throughput_table(
    title: str, runs: list[dict[tuple[int, str], float]], counts: tuple[int, ...], baseline: str
) -> None:
    """Calls per second by (callers, candidate), over runs: median [min, max], and the
    ratio to ``baseline`` at the same number of callers, median [min, max]."""
    for callers in counts:
        print(f"\n{title}: {callers}")
        for name in [n for c, n in runs[0] if c == callers]:
            values = [r[(callers, name)] for r in runs]
            ratios = [r[(callers, name)] / r[(callers, baseline)] for r in runs]
            print(
                f"  {name:<30} {statistics.median(values):9.0f}/s [{min(values):.0f}, {max(values):.0f}]"
                f"  {statistics.median(ratios):5.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]"
            )
