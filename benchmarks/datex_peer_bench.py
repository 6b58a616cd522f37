"""Datex codec against the pycollect peer, on the real 30-minute CARESCAPE capture (issue 14).

Usage::

    python benchmarks/datex_peer_bench.py --peer-dir DIR --peer-python PYTHON [--runs N]
        [--peer-runs K] [--load N]

The issue's target: our Datex decoding at least 2,500x faster than pycollect's ``GEDecode``
(UN-GCPDS/python-pycollect, commit c6cfdc1, which decodes byte by byte into pandas DataFrames),
measured in the same run.  Why both in one run: this machine is shared, and only a ratio taken
under the same load means anything.

* Ours: :class:`devices.drivers.ge_datex.DatexDriver` is fed the capture in 4 KiB chunks (as a
  serial port would hand it over), median of ``--runs`` runs (wall and CPU time); also with the
  fast paths swapped for the reference decoders (``protocol_bench.reference_paths("datex")``),
  for what they buy.
* The peer: ``GEDecode`` on the same bytes, in a subprocess under the peer's own python (it needs
  pandas < 2), timed inside that process; it takes minutes, so it is the median of ``--peer-runs``
  (default 1) runs, which the output says.
* The ratio is given on wall time (the issue's figure) and on CPU time (``time.process_time``,
  less moved by other processes: the peer runs for minutes, ours for a fraction of a second,
  so the two wall times are taken under whatever load each moment had).
* Both must find the same thing: every PHDB record's time, HR, SpO2, PR and NIBP sys/dia/mean are
  compared record by record (a value the monitor marked invalid is None on both sides), and every
  NIBP measurement our driver emits must be one the peer decoded.  A disagreement exits 1.

Prints the load report the other benchmarks print (benchmarks/load_reference.py) and, last, one
JSON line.  Without ``--peer-dir`` it prints how to fetch the peer and exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_reference import LoadReport, busy_processes  # noqa: E402
from benchmarks.protocol_bench import reference_paths  # noqa: E402
from devices.drivers.ge_datex import DatexDriver  # noqa: E402
from devices.model import Metric  # noqa: E402
from devices.protocols.ge_datex import DatexFramer, DatexValue  # noqa: E402
from devices.protocols.ge_datex_fast import decode_phdb_record  # noqa: E402

CAPTURE = ROOT / "resources" / "captures" / "ge_datex_carescape_30min.raw"
CHILD = Path(__file__).resolve().with_name("datex_peer_child.py")
PEER_REPO = "https://github.com/UN-GCPDS/python-pycollect"
PEER_COMMIT = "c6cfdc1d204d412a07dc9dfce30e2a84324b71c2"
TARGET = 2500.0
FETCH_HINT = (
    f"datex_peer_bench: give --peer-dir DIR (a checkout of {PEER_REPO} at {PEER_COMMIT}: "
    f"git clone {PEER_REPO} DIR && git -C DIR checkout {PEER_COMMIT}) and --peer-python PYTHON "
    "(python3 -m venv DIR/venv && DIR/venv/bin/pip install 'pandas<2' 'numpy<1.24' pyedflib "
    "pyserial); README, Benchmarks, has the steps"
)
#: Fields compared record by record, with the peer's column names (datex_peer_child.py).
FIELDS = ("hr", "spo2", "pr", "nibp_sys", "nibp_dia", "nibp_mean")
CHUNK = 4096
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def say(line: str) -> None:
    """One line of the report on stdout."""
    sys.stdout.write(line + "\n")


def fail(message: str) -> None:
    """One line on stderr, exit 2 (the project's CLI rule)."""
    sys.stderr.write(f"datex_peer_bench: {message}\n")
    raise SystemExit(2)


def time_ours(data: bytes, runs: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of the driver decoding ``data`` in 4 KiB chunks, and its
    reading count."""
    seconds = []
    cpu_seconds = []
    readings = 0
    for _ in range(runs):
        driver = DatexDriver()
        start, cpu_start = time.perf_counter(), time.process_time()
        readings = 0
        for i in range(0, len(data), CHUNK):
            readings += len(driver.feed(data[i : i + CHUNK], NOW).readings)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    return statistics.median(seconds), statistics.median(cpu_seconds), readings


def time_peer(peer_dir: Path, peer_python: str, runs: int) -> dict[str, Any]:
    """Run ``GEDecode`` in the peer's python; its own timings and what it decoded."""
    done = subprocess.run(
        [peer_python, str(CHILD), str(peer_dir), str(CAPTURE), str(runs)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        fail(f"the peer failed (exit {done.returncode}): {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _number(value: DatexValue) -> float | None:
    return value.value if value.valid else None


def our_records(data: bytes) -> dict[str, list[Any]]:
    """Per PHDB record with a basic class: r_time and the compared fields (None when invalid)."""
    framer = DatexFramer()
    rows: dict[str, list[Any]] = {"times": [], **{name: [] for name in FIELDS}}
    for record in framer.feed(data).records:
        values = decode_phdb_record(record)
        if values is None or values.basic is None:
            continue
        basic = values.basic
        rows["times"].append(values.r_time)
        for name, value in zip(
            FIELDS,
            (basic.ecg_hr, basic.spo2, basic.pr, basic.nibp_sys, basic.nibp_dia, basic.nibp_mean),
            strict=True,
        ):
            rows[name].append(_number(value))
    return rows


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def emitted_nibp(data: bytes) -> list[tuple[float | None, ...]]:
    """The (sys, dia, mean) of every NIBP measurement our driver emits on the capture."""
    driver = DatexDriver()
    triples: list[tuple[float | None, ...]] = []
    current: dict[Metric, float | None] = {}
    for i in range(0, len(data), CHUNK):
        for reading in driver.feed(data[i : i + CHUNK], NOW).readings:
            if reading.metric in (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN):
                current[reading.metric] = reading.value if reading.valid else None
                if reading.metric is Metric.NIBP_MEAN:
                    triples.append(
                        (
                            current[Metric.NIBP_SYS],
                            current[Metric.NIBP_DIA],
                            current[reading.metric],
                        )
                    )
    return triples


@dataclass
class Agreement:
    """What the comparison found."""

    records: int
    mismatches: list[str]
    with_hr: int
    with_nibp: int
    nibp_emitted: int
    sample: str

    @property
    def agree(self) -> bool:
        """True when nothing differed."""
        return not self.mismatches


def compare(ours: dict[str, list[Any]], peer: dict[str, Any], data: bytes) -> Agreement:
    """Record-by-record comparison of ours with the peer's DataFrame rows."""
    mismatches: list[str] = []
    if len(ours["times"]) != peer["records"]:
        mismatches.append(f"records: ours {len(ours['times'])}, peer {peer['records']}")
    if ours["times"] != peer["times"]:
        mismatches.append("record times differ")
    for name in FIELDS:
        pairs = list(zip(ours[name], peer[name], strict=False))
        bad = [i for i, (a, b) in enumerate(pairs) if not _same(a, b)]
        if bad or len(ours[name]) != len(peer[name]):
            i = bad[0] if bad else min(len(ours[name]), len(peer[name]))
            mismatches.append(f"{name}: {len(bad)} records differ, first at record {i}")
    peer_triples = set(zip(peer["nibp_sys"], peer["nibp_dia"], peer["nibp_mean"], strict=True))
    triples = emitted_nibp(data)
    unknown = [t for t in triples if not any(all(map(_same, t, p)) for p in peer_triples)]
    if unknown:
        mismatches.append(f"{len(unknown)} emitted NIBP not in the peer's rows, e.g. {unknown[0]}")
    with_hr = sum(v is not None for v in ours["hr"])
    with_nibp = sum(v is not None for v in ours["nibp_sys"])
    sample = ", ".join(
        f"HR {ours['hr'][i]:g} SpO2 {ours['spo2'][i]:g} NIBP {ours['nibp_sys'][i]:g}/"
        f"{ours['nibp_dia'][i]:g}"
        for i in (0, len(ours["hr"]) // 2, len(ours["hr"]) - 1)
        if all(ours[f][i] is not None for f in ("hr", "spo2", "nibp_sys", "nibp_dia"))
    )
    return Agreement(len(ours["times"]), mismatches, with_hr, with_nibp, len(triples), sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer-dir", type=Path, help="pycollect checkout (holds pycollect/)")
    parser.add_argument("--peer-python", help="a python with pandas<2 that can import the peer")
    parser.add_argument("--runs", type=int, default=5, help="runs of our decoder (median)")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs of the peer (median)")
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the runs")
    args = parser.parse_args()
    if args.peer_dir is None:
        sys.stderr.write(FETCH_HINT + "\n")
        raise SystemExit(2)
    if not (args.peer_dir / "pycollect" / "decode.py").is_file():
        fail(f"{args.peer_dir} holds no pycollect/decode.py")
    peer_python = args.peer_python or str(args.peer_dir / "venv" / "bin" / "python")
    if not os.access(peer_python, os.X_OK):
        fail(f"--peer-python {peer_python} is not an executable")
    if args.runs < 1 or args.peer_runs < 1 or args.load < 0:
        fail("--runs and --peer-runs must be >= 1, --load >= 0")
    data = CAPTURE.read_bytes()
    with busy_processes(args.load):
        report = LoadReport.begin(args.load)
        result = run(args, data, peer_python)
        report.end()
    say(report.line())
    result.update(
        busy_processes=report.busy_processes,
        loadavg_start=round(report.loadavg_start, 2),
        loadavg_end=round(report.loadavg_end, 2),
        reference_ms_start=round(report.reference_ms_start, 1),
        reference_ms_end=round(report.reference_ms_end, 1),
    )
    say(json.dumps(result))
    if not result["agree"]:
        raise SystemExit(1)


def run(args: argparse.Namespace, data: bytes, peer_python: str) -> dict[str, Any]:
    """The benchmark proper (under the load :func:`main` set up); returns the JSON fields."""
    say(f"capture: {CAPTURE.relative_to(ROOT)} ({len(data):,} bytes)")
    ours_s, ours_cpu_s, readings = time_ours(data, args.runs)
    load_ours = os.getloadavg()[0]
    with reference_paths("datex"):
        ours_ref_s, _cpu, _n = time_ours(data, args.runs)
    say(
        f"ours (DatexDriver, 4 KiB chunks): {ours_s * 1000:.1f} ms wall, {ours_cpu_s * 1000:.1f} "
        f"ms CPU, medians of {args.runs} runs (load average {load_ours:.2f}); {readings} "
        f"readings; with the reference decoders {ours_ref_s * 1000:.1f} ms wall "
        f"(fast/reference {ours_ref_s / ours_s:.2f}x)"
    )
    peer = time_peer(args.peer_dir, peer_python, args.peer_runs)
    peer_s = statistics.median(peer["seconds"])
    peer_cpu_s = statistics.median(peer["cpu_seconds"])
    say(
        f"peer (pycollect GEDecode {PEER_COMMIT[:7]}): {peer_s:.1f} s wall, {peer_cpu_s:.1f} s "
        f"CPU, median of {len(peer['seconds'])} run(s) (load average "
        f"{os.getloadavg()[0]:.2f}); {peer['records']} records"
    )
    agreement = compare(our_records(data), peer, data)
    say(
        f"compared, record by record: {agreement.records} PHDB records' time, HR, SpO2, PR, "
        f"NIBP sys/dia/mean (HR valid in {agreement.with_hr}, NIBP in {agreement.with_nibp}); "
        f"the {agreement.nibp_emitted} NIBP measurements our driver emits are all among the "
        f"peer's: {'agree' if agreement.agree else 'DISAGREE: ' + '; '.join(agreement.mismatches)}"
    )
    if agreement.sample:
        say(f"sample (first, middle, last record): {agreement.sample}")
    ratio = peer_s / ours_s
    ratio_cpu = peer_cpu_s / ours_cpu_s
    say(
        f"ours/peer speed: {ratio:,.0f}x wall, {ratio_cpu:,.0f}x CPU time, "
        f"{peer_s / ours_ref_s:,.0f}x wall with our reference decoders (target >= {TARGET:,.0f}x)"
    )
    return {
        "benchmark": "datex_peer",
        "capture_bytes": len(data),
        "records": agreement.records,
        "ours_ms": round(ours_s * 1000, 2),
        "ours_cpu_ms": round(ours_cpu_s * 1000, 2),
        "ours_runs": args.runs,
        "ours_reference_ms": round(ours_ref_s * 1000, 2),
        "peer_s": round(peer_s, 2),
        "peer_cpu_s": round(peer_cpu_s, 2),
        "peer_runs": len(peer["seconds"]),
        "ratio": round(ratio),
        "ratio_cpu": round(ratio_cpu),
        "target": TARGET,
        "agree": agreement.agree,
    }


if __name__ == "__main__":
    main()
