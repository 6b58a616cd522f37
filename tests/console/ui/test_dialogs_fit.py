"""Issue 11 item 1: every dialog fits a 1366x768 screen with its longest texts.

A dialog larger than the screen hides its buttons: the nurse cannot confirm a discharge or
record a reason.  Each dialog is built as the chair view opens it, filled with long texts
(a refusal with several reasons, 16 chairs with open sessions), and its size hint and minimum
size are compared with 1366x768 less the window manager's title bar and frame.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from console.domain.discharge_gate import DischargeGate
from console.domain.observations import ObservationSchedule
from console.domain.session import GateAssessment, GateVerdict, SessionPolicy
from console.storage.repository import SessionSummary
from console.ui.dialog_guard import GuardedDialog
from console.ui.esketamine_dialogs import EndChecksDialog
from console.ui.main_window import ScenarioDialog
from console.ui.observation_entry import ScoresDialog
from console.ui.physician_sign import add_physician_password
from console.ui.quit_guard import QuitDialog
from console.ui.session_dialogs import (
    STOP_REASONS,
    AnnotationDialog,
    DischargeDialog,
    GateDialog,
    NewSessionDialog,
    ReasonDialog,
    ResumeDialog,
)
from console.ui.shift_dialogs import (
    CreateAdminDialog,
    LoginDialog,
    PinDialog,
    SetPinDialog,
    ShiftDialog,
)
from console.ui.theme import STYLE_SHEET

pytestmark = pytest.mark.gui

#: 1366x768 less a title bar and frame (openbox: ~30 px high, a few px wide).
FIT_WIDTH, FIT_HEIGHT = 1366 - 10, 768 - 40
REASONS = (
    "a high alarm is active: *** SBP 205 >= 200, confirmed by repeat (onset SBP 186 >= 180)",
    "an alarm is not acknowledged: ** SpO2 90 < 92",
    "the last NIBP 167/104 is above the alarm limits (SBP high 160)",
    "the last NIBP 167/104 is not back within 20 % of the baseline 144/88",
)


def _refused(dialog: GuardedDialog) -> GuardedDialog:
    """The dialog with a refusal shown at its top (as after a score out of range)."""
    dialog.show_refusal("Not done: CADSS-6 must be a whole number 0-24, got 25")
    return dialog


def _refused_shift(dialog: ShiftDialog) -> ShiftDialog:
    """A shift dialog with its longest refusal shown (a lockout)."""
    dialog.show_error(
        "account kim-longname-of-the-night-shift is locked until 23:59:59 after 5 failed log-ins"
    )
    return dialog


def _gate_signed(dialog: GateDialog) -> GateDialog:
    """The override dialog with the physician's password row of a console with accounts."""
    add_physician_password(dialog)
    dialog.show_refusal("Not done: a pre-dose override needs the physician role (kim is nurse)")
    return dialog


def _check(dialog: QDialog) -> list[str]:
    dialog.setStyleSheet(dialog.styleSheet() or STYLE_SHEET)
    dialog.adjustSize()
    problems = []
    for what, size in (("size hint", dialog.sizeHint()), ("minimum", dialog.minimumSizeHint())):
        if size.width() > FIT_WIDTH or size.height() > FIT_HEIGHT:
            problems.append(f"{dialog.objectName() or type(dialog).__name__} {what} {size}")
    return problems


def test_every_dialog_fits_1366x768(qtbot: QtBot, console_factory: Any) -> None:
    app = console_factory(chairs=16)
    window = app.window
    panel = window.panels[0]
    policy = SessionPolicy()
    now = datetime.now(UTC)
    dialogs: list[QDialog] = []
    panel.trigger("new")  # the session start dialog, as the chair view opens it
    assert panel.dialog is not None
    dialogs.append(panel.dialog)
    # The same dialog for an esketamine session (issue 17): the dose and lot shown, the
    # REMS questions unanswered so their message is at its longest, an invalid date of birth.
    panel.dialog.reject()
    panel.trigger("new")
    esketamine = panel.dialog
    assert isinstance(esketamine, NewSessionDialog)
    form = esketamine.intake_form
    form.session_type.setCurrentIndex(1)
    form.date_of_birth.setText("14/06/1975")
    esketamine.validate()
    assert form.esketamine_box.isVisibleTo(esketamine)
    assert form.message.isVisibleTo(esketamine)
    assert not esketamine.volume.isVisibleTo(esketamine)  # the IV rows are hidden
    dialogs.append(esketamine)
    panel.trigger("limits")
    assert panel.dialog is not None
    dialogs.append(panel.dialog)
    dialogs += [
        DischargeDialog(
            policy.discharge_items,
            answered={},
            blocker="",
            gate=DischargeGate(reasons=REASONS),
            parent=panel,
        ),
        DischargeDialog(
            policy.discharge_items,
            answered={},
            blocker="Minimum observation not reached (25 min left): the checks open then; "
            "end early only with a reason.",
            parent=panel,
        ),
        GateDialog(GateAssessment(GateVerdict.BLOCKED, REASONS), parent=panel),
        GateDialog(GateAssessment(GateVerdict.REVIEW, REASONS[:2]), parent=panel),
        ReasonDialog("Stop infusion", STOP_REASONS, rate_ml_per_h=42.5, parent=panel),
        AnnotationDialog(parent=panel),
        _refused(
            ScoresDialog(
                [p.label for p in ObservationSchedule().points],
                due="end of infusion",
                scales=ObservationSchedule().scales,
                outcomes=True,  # the baseline entry, with PHQ-9 and MADRS: the tallest
                parent=panel,
            )
        ),
        EndChecksDialog(now, now - timedelta(minutes=125), parent=panel),
        ResumeDialog(
            "Chair 12",
            SessionSummary(
                id=4711,
                chair="Chair 12",
                started_at=now,
                ended_at=None,
                simulated=True,
                device_kind="ge-datex",
                readings=5400,
                alarms=12,
                phase="infusion",
                patient="MRN-000123456 Jane Example-Longname",
                series_number=6,
            ),
            parent=panel,
        ),
        QuitDialog([f"Chair {i}: infusion (patient MRN-{i:09d})" for i in range(1, 17)], window),
        ScenarioDialog(app.chairs, 0, window),
        # The shift's dialogs (issue 16), each with its longest refusal.
        _gate_signed(GateDialog(GateAssessment(GateVerdict.BLOCKED, REASONS), parent=panel)),
        _refused_shift(LoginDialog(window)),
        _refused_shift(PinDialog(window)),
        _refused_shift(SetPinDialog("Dr Alexandra Example-Longname", window)),
        _refused_shift(CreateAdminDialog(window)),
    ]
    problems = [p for dialog in dialogs for p in _check(dialog)]
    assert problems == []
