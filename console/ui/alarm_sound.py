"""Plays the priority-encoded alarm bursts through Qt (QtMultimedia ``QSoundEffect``).

The player is told what should sound (the highest unacknowledged, un-paused priority) and keeps
repeating that priority's burst at its interval.  If no audio output exists or a sound cannot be
played, it says so through :attr:`AlarmSoundPlayer.sig_audio_unavailable`; the chair then shows
a high-priority technical alarm, because an alarm system that cannot sound must be seen to be
unable to (clinical.md b3 "Alarm audio unavailable").
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

from console.domain.alarms import Priority
from console.services.alarm_tones import PATTERNS, burst, to_wav
from console.services.chair_service import ChairService

log = logging.getLogger("ui.sound")


class AlarmSoundPlayer(QObject):
    """Repeats the burst of the priority that should sound.

    Signals:
        sig_audio_unavailable(str): sound cannot be played, with the reason.
        sig_audio_available(): sound works (again).
        sig_burst_played(int): a burst of this priority was started (for the log and tests).
    """

    sig_audio_unavailable = Signal(str)
    """Sound cannot be played, with the reason."""
    sig_audio_available = Signal()
    """Sound works (again)."""
    sig_burst_played = Signal(int)
    """A burst of this priority was started."""

    def __init__(self, parent: QObject | None = None, *, volume: float = 0.8) -> None:
        super().__init__(parent)
        self._volume = volume
        self._priority: Priority | None = None
        self._timer = QTimer(self)
        self._timer.setObjectName("alarm-sound-repeat")
        self._timer.timeout.connect(self._on_repeat_timeout)
        self._effects: dict[Priority, object] = {}
        self._tone_dir: Path | None = None
        self.available = False
        self.reason = ""
        QTimer.singleShot(0, self._probe)

    def _probe(self) -> None:
        """Find an audio output and load the bursts; report when there is none."""
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as err:  # PySide6-Addons missing or its libraries (libpulse0)
            self._unavailable(f"Qt Multimedia cannot be loaded: {err}")
            return
        if not QMediaDevices.audioOutputs():
            self._unavailable("no audio output device")
            return
        self._tone_dir = Path(tempfile.mkdtemp(prefix="infusion-tones-"))
        weakref.finalize(self, shutil.rmtree, self._tone_dir, True)
        for priority in Priority:
            path = self._tone_dir / f"alarm-{priority.label}.wav"
            path.write_bytes(to_wav(burst(priority)))
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(self._volume)
            effect.statusChanged.connect(self._on_effect_status_changed)
            self._effects[priority] = effect
        self.available = True
        self.reason = ""
        self.sig_audio_available.emit()

    def _unavailable(self, reason: str) -> None:
        if self.reason != reason:
            log.error("alarm audio unavailable: %s", reason)
        self.available = False
        self.reason = reason
        self.sig_audio_unavailable.emit(reason)

    def _on_effect_status_changed(self) -> None:
        from PySide6.QtMultimedia import QSoundEffect

        for effect in self._effects.values():
            assert isinstance(effect, QSoundEffect)
            if effect.status() == QSoundEffect.Status.Error:
                self._unavailable("an alarm sound could not be loaded")
                return

    def set_sounding(self, priority: Priority | None) -> None:
        """What should sound now: a priority, or None for silence (no alarm, or paused)."""
        if priority == self._priority:
            return
        self._priority = priority
        self._timer.stop()
        if priority is None:
            return
        self._play()
        repeat = PATTERNS[priority].repeat_s
        if repeat is not None:
            self._timer.start(int(repeat * 1000))

    @property
    def sounding(self) -> Priority | None:
        """The priority currently repeating, if any."""
        return self._priority

    def _on_repeat_timeout(self) -> None:
        self._play()

    def _play(self) -> None:
        if self._priority is None:
            return
        self.sig_burst_played.emit(int(self._priority))
        effect = self._effects.get(self._priority)
        if effect is not None:
            effect.play()  # type: ignore[attr-defined]


class AlarmAudioController(QObject):
    """One speaker for the whole console: it sounds the highest priority any chair asks for.

    When the player reports that sound cannot be played, every chair's alarm engine is told,
    so each chair shows the high-priority "alarm audio unavailable" technical alarm.
    """

    def __init__(
        self,
        chairs: list[ChairService],
        player: AlarmSoundPlayer | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.player = player or AlarmSoundPlayer(self)
        self.chairs: list[ChairService] = []
        self.player.sig_audio_unavailable.connect(self._on_player_audio_unavailable)
        self.player.sig_audio_available.connect(self._on_player_audio_available)
        for chair in chairs:
            self.add_chair(chair)

    def add_chair(self, chair: ChairService) -> None:
        """Follow one more chair (also after a chair was restarted)."""
        self.chairs.append(chair)
        chair.sig_alarms_changed.connect(self.update)
        if self.player.reason:
            chair.alarms.set_audio_available(False, self.player.reason)
        self.update()

    def remove_chair(self, chair: ChairService) -> None:
        """Stop following a chair that is being stopped."""
        if chair in self.chairs:
            self.chairs.remove(chair)
            chair.sig_alarms_changed.disconnect(self.update)
        self.update()

    def update(self) -> None:
        """Sound the most urgent priority any chair wants (None: silence)."""
        wanted = [c.audio.priority for c in self.chairs if c.audio.priority is not None]
        self.player.set_sounding(max(wanted) if wanted else None)

    def _on_player_audio_unavailable(self, reason: str) -> None:
        for chair in self.chairs:
            chair.alarms.set_audio_available(False, reason)

    def _on_player_audio_available(self) -> None:
        for chair in self.chairs:
            chair.alarms.set_audio_available(True)
