"""Alarm sounds: IEC 60601-1-8 burst patterns, one speaker for all chairs, and no silent failure."""

from __future__ import annotations

import io
import wave
from typing import Any, cast

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from console.domain.alarm_engine import AudioStatus
from console.domain.alarms import Priority
from console.services.alarm_tones import (
    FUNDAMENTAL_HZ,
    PATTERNS,
    SAMPLE_RATE,
    burst,
    pulse,
    pulse_count,
    to_wav,
)
from console.ui.alarm_sound import AlarmAudioController, AlarmSoundPlayer
from tests.expected_logs import NO_AUDIO_OUTPUT, expect_logs

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(
    ("priority", "pulses"), [(Priority.HIGH, 10), (Priority.MEDIUM, 3), (Priority.LOW, 2)]
)
def test_burst_has_the_standard_number_of_pulses(priority: Priority, pulses: int) -> None:
    assert pulse_count(burst(priority)) == pulses


def test_repeat_intervals_are_within_the_standard() -> None:
    high, medium, low = (
        PATTERNS[p].repeat_s for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    )
    assert high is not None
    assert 2.5 <= high <= 15
    assert medium is not None
    assert 2.5 <= medium <= 30
    assert low is None or low > 15


def test_pulse_has_four_harmonics_within_15_db() -> None:
    samples = pulse(0.2)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    peaks = []
    for k in range(1, 6):
        band = (freqs > FUNDAMENTAL_HZ * k - 20) & (freqs < FUNDAMENTAL_HZ * k + 20)
        peaks.append(spectrum[band].max())
    harmonics_db = 20 * np.log10(np.array(peaks[1:5]) / max(peaks[1:5]))
    assert all(300 <= FUNDAMENTAL_HZ * k <= 4000 for k in range(2, 6))
    assert harmonics_db.min() > -15


def test_wav_is_16_bit_mono_pcm() -> None:
    data = to_wav(burst(Priority.MEDIUM))
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert w.getnframes() == len(burst(Priority.MEDIUM))


@expect_logs(NO_AUDIO_OUTPUT)
def test_player_reports_when_no_sound_can_be_played(qtbot: QtBot) -> None:
    """This machine has no audio output: the player must say so, not stay silent quietly."""
    from PySide6.QtMultimedia import QMediaDevices

    player = AlarmSoundPlayer()
    if QMediaDevices.audioOutputs():
        with qtbot.waitSignal(player.sig_audio_available, timeout=5000):
            pass
        assert player.available
    else:
        with qtbot.waitSignal(player.sig_audio_unavailable, timeout=5000) as blocker:
            pass
        assert "no audio output" in blocker.args[0]
        assert not player.available


class FakePlayer(QObject):
    sig_audio_unavailable = Signal(str)
    sig_audio_available = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.reason = ""
        self.sounding: list[Priority | None] = []

    def set_sounding(self, priority: Priority | None) -> None:
        self.sounding.append(priority)


class FakeChair(QObject):
    sig_alarms_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.audio = AudioStatus(None)
        self.audio_available: list[tuple[bool, str]] = []
        self.alarms = self  # the fake is its own alarm actions (ChairService.alarms)

    def set_audio_available(self, available: bool, reason: str = "") -> None:
        self.audio_available.append((available, reason))

    def sound(self, priority: Priority | None) -> None:
        self.audio = AudioStatus(priority)
        self.sig_alarms_changed.emit()


def test_one_speaker_sounds_the_most_urgent_chair() -> None:
    player = FakePlayer()
    a, b = FakeChair(), FakeChair()
    # The fakes stand in for ChairService and AlarmSoundPlayer (duck-typed Qt objects).
    chairs: list[Any] = [a, b]
    controller = AlarmAudioController(chairs, cast(Any, player))
    a.sound(Priority.MEDIUM)
    b.sound(Priority.HIGH)
    b.sound(None)
    a.sound(None)
    assert player.sounding[-4:] == [Priority.MEDIUM, Priority.HIGH, Priority.MEDIUM, None]
    assert controller.chairs == chairs


def test_unavailable_audio_is_told_to_every_chair() -> None:
    player = FakePlayer()
    a, b = FakeChair(), FakeChair()
    # The fakes stand in for ChairService and AlarmSoundPlayer (duck-typed Qt objects).
    chairs: list[Any] = [a, b]
    controller = AlarmAudioController(chairs, cast(Any, player))
    player.sig_audio_unavailable.emit("no audio output device")
    assert a.audio_available == [(False, "no audio output device")]
    assert b.audio_available == [(False, "no audio output device")]
    player.sig_audio_available.emit()
    assert a.audio_available[-1] == (True, "")
    assert cast(object, controller.player) is player
