"""Priority-encoded alarm bursts after IEC 60601-1-8 (clinical.md c3), synthesised with numpy.

- high: 10 pulses per burst, heard as 3+2 ... 3+2, repeated every 10 s (standard: 2.5-15 s);
- medium: 3 pulses, repeated every 20 s (standard: 2.5-30 s);
- low: 2 pulses, not repeated (standard: > 15 s or not at all).

Each pulse is a 523 Hz fundamental with four harmonics of similar strength (the standard asks
for at least four harmonics between 300 and 4000 Hz within 15 dB of each other) and short
rise/fall ramps so it does not click.  Pure Python: the bytes are tested without Qt, and the Qt
player only plays them.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

from console.domain.alarms import Priority

SAMPLE_RATE = 22_050
FUNDAMENTAL_HZ = 523.0
#: Relative amplitudes of the fundamental and four harmonics (all within ~6 dB).
HARMONICS = (1.0, 0.8, 0.7, 0.6, 0.5)
RAMP_S = 0.015


@dataclass(frozen=True, slots=True)
class BurstPattern:
    """Pulse timing of one priority's burst."""

    pulses: int
    pulse_s: float
    #: Gap after each pulse, seconds; its length sets the rhythm (3+2 for high).
    gaps_s: tuple[float, ...]
    #: Seconds between the starts of two bursts; None plays the burst once.
    repeat_s: float | None


PATTERNS: dict[Priority, BurstPattern] = {
    # 3 + 2 pulses, a pause, 3 + 2 pulses (IEC 60601-1-8 high-priority rhythm).
    Priority.HIGH: BurstPattern(
        10, 0.15, (0.10, 0.10, 0.30, 0.10, 0.60, 0.10, 0.10, 0.30, 0.10, 0.0), 10.0
    ),
    Priority.MEDIUM: BurstPattern(3, 0.20, (0.15, 0.15, 0.0), 20.0),
    Priority.LOW: BurstPattern(2, 0.20, (0.20, 0.0), None),
}


def pulse(duration_s: float, *, amplitude: float = 0.5) -> np.ndarray:
    """One harmonic-rich tone with linear rise and fall."""
    n = int(duration_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tone = sum(
        a * np.sin(2 * np.pi * FUNDAMENTAL_HZ * (k + 1) * t) for k, a in enumerate(HARMONICS)
    )
    tone = tone / np.max(np.abs(tone)) * amplitude
    ramp = min(int(RAMP_S * SAMPLE_RATE), n // 2)
    envelope = np.ones(n)
    envelope[:ramp] = np.linspace(0, 1, ramp)
    envelope[n - ramp :] = np.linspace(1, 0, ramp)
    return np.asarray(tone * envelope, dtype=np.float64)


def burst(priority: Priority) -> np.ndarray:
    """The samples of one burst of ``priority``."""
    pattern = PATTERNS[priority]
    parts: list[np.ndarray] = []
    for i in range(pattern.pulses):
        parts.append(pulse(pattern.pulse_s))
        gap = pattern.gaps_s[i] if i < len(pattern.gaps_s) else 0.0
        parts.append(np.zeros(int(gap * SAMPLE_RATE)))
    return np.concatenate(parts)


def to_wav(samples: np.ndarray) -> bytes:
    """16-bit mono PCM WAV bytes."""
    pcm = np.clip(samples, -1.0, 1.0)
    data = (pcm * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(data)
    return buf.getvalue()


def pulse_count(samples: np.ndarray, threshold: float = 0.05) -> int:
    """Number of separate pulses in ``samples`` (for tests: count the on-runs)."""
    on = np.abs(samples) > threshold
    # Merge within-pulse zero crossings: a pulse is "on" if any sample in a 5 ms window is.
    window = int(0.005 * SAMPLE_RATE)
    smoothed = np.convolve(on.astype(int), np.ones(window, dtype=int), mode="same") > 0
    edges = np.diff(smoothed.astype(int))
    return int(np.sum(edges == 1) + (1 if smoothed[0] else 0))
