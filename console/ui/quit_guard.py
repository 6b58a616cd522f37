"""Closing the console while a patient is in a chair (issue 11 item 4).

The window used to close within 3 s with no question; the record was left in phase "infusion"
with no reason, and no resume was offered at the next start.  Now:

* closing (window button, Alt+F4, the Quit menu item) while any running chair has a patient
  session asks first, naming each chair, its patient and phase, and requires a reason;
* the answer is recorded in every open session as an ``interrupted`` event (author: that
  chair's operator); the record is left unfinished, so the next start offers to resume it;
* a close that is not confirmed changes nothing (the dialog is cancelled: monitoring goes on);
* the operating system's SIGTERM (and Ctrl+C in the terminal) cannot be asked: it records the
  signal as the reason and closes the same way (:func:`interrupt_all`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QLabel, QWidget

from console.services.chair_record import DEMO_PATIENT
from console.services.chair_service import ChairService
from console.ui.session_dialogs import ReasonDialog

#: Reasons offered in the question (any other may be typed).
QUIT_REASONS = (
    "console restart (the session is resumed at the next start)",
    "moving the patient's monitoring to another console",
    "end of the working day: sessions continue on paper",
)


def open_sessions(chairs: Sequence[ChairService]) -> list[tuple[ChairService, str]]:
    """Running chairs with an open patient session, each with "Chair 1: MRN name - infusion".

    The simulator's own demo patient is nobody's patient: its record ends as before.
    """
    out = []
    for chair in chairs:
        phase, record = chair.phase, chair.patient_record
        if chair.runner is None or not chair.session_open or phase is None:
            continue
        if record is not None and record.mrn == DEMO_PATIENT[0]:
            continue
        who = chair.patient or "patient"
        out.append((chair, f"{chair.settings.chair_name}: {who} - {phase.value.upper()}"))
    return out


class QuitDialog(ReasonDialog):
    """The question before closing with sessions open: which chairs, and why (required)."""

    def __init__(self, sessions: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(
            "Quit with sessions open", QUIT_REASONS, ok_text="Quit anyway", parent=parent
        )
        self.setObjectName("quitDialog")
        self.sessions = QLabel(
            "These chairs have a session open:\n  "
            + "\n  ".join(sessions)
            + "\n\nQuitting stops their monitoring and alarms on this console. The reason is "
            "recorded in each session, and the next start offers to resume it."
        )
        self.sessions.setObjectName("quitSessions")
        self.sessions.setWordWrap(True)
        layout = self.layout()
        assert layout is not None
        layout.insertRow(0, self.sessions)  # type: ignore[attr-defined]


def interrupt_all(chairs: Sequence[ChairService], reason: str, user: Callable[[int], str]) -> int:
    """Record ``reason`` in every open session (``user(i)`` names chair i's operator).

    Returns:
        How many sessions were interrupted.
    """
    count = 0
    for chair, _text in open_sessions(chairs):
        if chair.workflow.interrupt(user(chairs.index(chair)), reason) is not None:
            count += 1
    return count


__all__ = ["QuitDialog", "interrupt_all", "open_sessions"]
