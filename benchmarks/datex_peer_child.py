"""Child of ``datex_peer_bench.py``: decodes a capture with pycollect's ``GEDecode``, timed here.

Why a separate script: pycollect needs pandas < 2 (it imports ``from pandas import np``), which
cannot live beside the console's own packages, so it runs under the peer's throwaway venv python.
Only the standard library and the peer are imported, and the timing is taken inside this process
so the start-up of that interpreter and of pandas is not charged to the peer.

Usage (by the benchmark)::

    PEER_PYTHON datex_peer_child.py PEER_DIR CAPTURE RUNS

Prints one JSON object: the wall and CPU seconds of each run, and what the last run found (the
values the benchmark compares with ours).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
import warnings


def _number(value: object) -> float | None:
    """A valid numeric cell as float; None for pycollect's None/NaN/marker cells."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    if math.isnan(number) or number <= -32001:
        return None
    return number


def main() -> None:
    peer_dir, capture, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, peer_dir)
    warnings.simplefilter("ignore")  # pandas' FutureWarnings for pandas.np / DataFrame.append
    # Imported by name: pycollect exists only under the peer's python, never in the console's.
    gedecode = importlib.import_module("pycollect.decode").GEDecode

    with open(capture, "rb") as handle:
        data = handle.read()
    seconds = []
    cpu_seconds = []
    decoder = None
    for _ in range(runs):
        buffer = list(data)  # what pycollect's GEDevice collects: a list of byte values
        start, cpu_start = time.perf_counter(), time.process_time()
        decoder = gedecode(buffer)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    assert decoder is not None
    frame = decoder.DATA_SUBRECORD
    columns = {
        "hr": "ECG HR",
        "spo2": "SpO2",
        "pr": "SpO2 PR",
        "nibp_sys": "NIBP SYS",
        "nibp_dia": "NIBP DIA",
        "nibp_mean": "NIBP MEAN",
    }
    values = {
        key: [_number(v) for v in frame[column].tolist()] if column in frame else []
        for key, column in columns.items()
    }
    times = [int(t.timestamp()) for t in frame["datetime"]] if "datetime" in frame else []
    json.dump(
        {
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "records": len(frame),
            "times": times,
            **values,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
