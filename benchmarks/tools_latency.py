"""Wall time of the lecture's admin commands, printed as figures (never asserted in tests).

Starts the kcli broker (tests/broker_process.py) in a temporary directory, creates a few topics,
then times ``kafka-topics --list`` and ``kafka-topics --describe`` as a student runs them: a new
process each time (interpreter start-up and imports included), against ``--against HOST:PORT``
instead if given.

    python benchmarks/tools_latency.py [--runs 10] [--against HOST:PORT]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.broker_process import BrokerProcess


def _command(args: list[str]) -> list[str]:
    script = shutil.which("kafka-topics", path=str(Path(sys.executable).parent))
    return [script, *args] if script else [sys.executable, "-m", "kcli.tools.topics", *args]


def _time(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(_command(args), capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"kafka-topics {' '.join(args)} failed: {result.stderr.strip()}")
    return times


def _report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    print(
        f"{label:<32} median {statistics.median(ordered) * 1000:7.1f} ms   "
        f"min {ordered[0] * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms   ({len(ordered)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--against", help="HOST:PORT of a running broker instead of starting kcli's")
    opts = parser.parse_args()
    broker = None
    workdir = Path(tempfile.mkdtemp(prefix="kcli-tools-bench-"))
    try:
        if opts.against:
            bootstrap = opts.against
        else:
            broker = BrokerProcess(workdir).start()
            bootstrap = broker.bootstrap
        for i in range(5):
            _time(
                [
                    "--create",
                    "--if-not-exists",
                    "--topic",
                    f"bench-{i}",
                    "--partitions",
                    "3",
                    "--bootstrap-server",
                    bootstrap,
                ],
                1,
            )
        baseline = [0.0] * opts.runs
        for i in range(opts.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            baseline[i] = time.perf_counter() - started
        _report("python -c pass (floor)", baseline)
        _report("kafka-topics --list", _time(["--list", "--bootstrap-server", bootstrap], opts.runs))
        _report(
            "kafka-topics --describe --topic",
            _time(["--describe", "--topic", "bench-0", "--bootstrap-server", bootstrap], opts.runs),
        )
        _report(
            "kafka-topics --describe (all)", _time(["--describe", "--bootstrap-server", bootstrap], opts.runs)
        )
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
