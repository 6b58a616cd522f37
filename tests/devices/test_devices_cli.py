"""``python -m devices``: decode and simulate as QA and field service run them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def _devices(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devices", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=ENV,
    )


@pytest.mark.slow
def test_simulate_on_a_pty_then_decode_it() -> None:
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devices",
            "simulate",
            "--protocol",
            "datex",
            "--scenario",
            "noisy-line",
            "--speed",
            "60",
            "--pty",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    try:
        assert sim.stdout is not None
        path = sim.stdout.readline().strip()
        assert path
        result = _devices("decode", "--protocol", "datex", "--port", path, "--count", "1500")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        assert sim.stdout is not None
        sim.stdout.close()
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    readings = [x for x in lines if "parameter" in x]
    events = [x for x in lines if "event" in x]
    assert len(readings) == 1500
    assert events[0]["event"] == "connected"
    assert any(e["event"] == "frame_error" for e in events), "noise must show as frame errors"
    hr = [x for x in readings if x["parameter"] == "HR"]
    assert hr
    assert set(hr[0]) == {"time", "device_time", "parameter", "value", "unit", "valid", "flags"}
    assert hr[0]["unit"] == "/min"
    assert all(x["valid"] for x in hr)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["decode", "--protocol", "datex", "--port", "/dev/nonexistent-port"], "cannot open"),
        (["decode", "--protocol", "philips-mp70", "--port", "/dev/ttyS0"], "unknown protocol"),
        (["decode", "--protocol", "datex"], "--port URL is required"),
        (["decode", "--protocol", "datex", "--port", "x", "--count", "0"], "--count"),
        (["simulate", "--protocol", "datex", "--scenario", "nope", "--pty"], "no scenario"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    result = _devices(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ports_lists_json_lines() -> None:
    result = _devices("ports")
    assert result.returncode == 0
    for line in result.stdout.splitlines():
        assert "device" in json.loads(line)


def test_decode_listen_is_the_hl7_server_and_acks(tmp_path: Path) -> None:
    """``decode --protocol hl7 --listen``: a gateway connects; messages are ACKed and decoded."""
    import socket

    from devices.clock import ScaledClock
    from devices.simulator.hl7_gateway_sim import start_hl7_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    decoder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devices",
            "decode",
            "--protocol",
            "hl7",
            "--listen",
            f"127.0.0.1:{port}",
            "--count",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    client = None
    try:
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait for the listener
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        client = start_hl7_client(ScaledClock(30), "127.0.0.1", port, interval_s=10.0)
        out, err = decoder.communicate(timeout=60)
    finally:
        if client is not None:
            client.stop()
        if decoder.poll() is None:
            decoder.kill()
            decoder.communicate()
    assert decoder.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    readings = [x for x in lines if "parameter" in x]
    assert len(readings) == 20
    assert {"HR", "SPO2"} <= {r["parameter"] for r in readings}
    assert any(x.get("event") == "connected" for x in lines)
    assert client.acked_ids  # the console answered with ACKs
