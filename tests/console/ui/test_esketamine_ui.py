"""Issue 17 on the chair view: an esketamine session started in the dialog (with the REMS
start questions), "Device given" with its 5-minute spacing, the strip's devices and
checkpoints, the end checks dialog and the 2-hour discharge block; the start data stored."""

from __future__ import annotations

from datetime import date

import pytest
from pytestqt.qtbot import QtBot

from console.domain.esketamine import SessionType
from console.domain.session import EventKind, Phase
from console.services.chair_service import ChairService
from console.storage.review import ReviewRepository
from console.ui.esketamine_dialogs import EndChecksDialog
from console.ui.session_dialogs import DischargeDialog, NewSessionDialog
from tests.console.ui.test_workflow import (
    NURSE,
    Factory,
    _dialog,
    _streaming,
    console_factory,
    db_url,
)

__all__ = ["console_factory", "db_url"]  # the fixtures, re-used

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _phase(chair: ChairService) -> Phase:
    """The phase, asked afresh (each step changes it)."""
    return chair.lifecycle.phase


def test_esketamine_session_on_the_chair_view(qtbot: QtBot, console_factory: Factory) -> None:
    app = console_factory()
    panel, chair = app.window.panel, app.chair
    _streaming(qtbot, chair)

    panel.trigger("new")
    dialog: NewSessionDialog = _dialog(panel, NewSessionDialog)
    dialog.mrn.setText("MRN-E1")
    dialog.look_up_patient()
    qtbot.waitUntil(lambda: dialog.lookup_pending is None)
    form = dialog.intake_form
    form.session_type.setCurrentIndex(1)  # intranasal esketamine
    assert form.esketamine_box.isVisible()
    assert not dialog.volume.isVisible()  # no bag for a nasal spray
    assert not dialog.ok_button.isEnabled()
    assert "answer Yes or No" in form.message.text()
    for i, combo in enumerate(form.medications.values()):
        combo.setCurrentText("Yes" if i == 4 else "No")  # opioids: Yes
    form.setting_name.setText("Northside Clinic")
    form.setting_type.setCurrentText("outpatient clinic")
    assert "lot number" in form.message.text()
    form.lot.setText("LOT-55")
    form.esketamine_dose.setCurrentIndex(0)  # 56 mg, 2 devices
    form.date_of_birth.setText("1979-02-30")
    assert "YYYY-MM-DD" in form.message.text()
    assert not dialog.ok_button.isEnabled()
    form.date_of_birth.setText("1979-02-28")
    form.sex.setCurrentText("female")
    assert dialog.ok_button.isEnabled(), form.message.text()
    dialog.accept()
    sid = chair.session_id
    assert sid is not None
    assert chair.lifecycle.esketamine is not None
    assert "esketamine 56 mg" in panel.workflow_message.text()
    assert panel.workflow_buttons["device"].isVisible()
    assert not panel.workflow_buttons["start"].isVisible()
    assert panel.strip.cells["infusion"].caption.text() == "ESKETAMINE"
    assert "0/2 devices" in panel.strip.infusion.text()

    panel.trigger("nibp")
    qtbot.waitUntil(lambda: bool(chair.lifecycle.baseline), timeout=10_000)
    panel.trigger("device")
    assert _phase(chair) is Phase.INFUSION, panel.workflow_message.text()
    assert "Device 1 of 2 given" in panel.workflow_message.text()
    panel.strip.refresh()
    assert "1/2 devices" in panel.strip.infusion.text()
    assert "device 2 in" in panel.strip.infusion.text()
    assert panel.strip.checkpoint.text().startswith("pre ")  # the pre-dose BP is answered
    qtbot.waitUntil(lambda: chair.session_seconds() > 2 * 60 + 30, timeout=10_000)
    panel.trigger("device")  # about a minute after the first: recorded, with a warning
    assert _phase(chair) is Phase.OBSERVATION
    assert "early" in panel.workflow_message.text()
    panel.strip.refresh()
    assert "2/2 devices" in panel.strip.infusion.text()
    assert "given early" in panel.strip.infusion.text()
    labels = [label for _m, label in panel.plots.markers]
    assert labels[-2:] == ["device 1", "device 2 EARLY"]  # on the trends, where they happened

    panel.trigger("checks")
    checks: EndChecksDialog = _dialog(panel, EndChecksDialog)
    assert not checks.ok_button.isEnabled()  # every effect must be answered
    checks.occurred["sedation"].setCurrentText("Yes")
    checks.resolved["sedation"].setChecked(True)
    checks.occurred["dissociation"].setCurrentText("No")
    checks.occurred["respiratory_depression"].setCurrentText("No")
    assert checks.ok_button.isEnabled()
    checks.accept()
    assert chair.lifecycle.end_checks is not None
    assert chair.lifecycle.end_checks.occurred["sedation"] is True

    panel.trigger("end")  # 2 h from the first device are far away
    discharge: DischargeDialog = _dialog(panel, DischargeDialog)
    assert "Minimum observation not reached" in discharge.blocker.text()
    discharge.reject()

    # The start data and the steps are on the record, as the reports read it.
    qtbot.waitUntil(
        lambda: EventKind.END_CHECKS in [e.kind for e in app.repository.events(sid)],
        timeout=10_000,
    )
    stored = ReviewRepository(app.repository.engine).load(sid)
    assert stored.intake is not None
    assert stored.intake.session_type is SessionType.ESKETAMINE
    assert stored.intake.medications["opioids"] is True
    assert stored.intake.date_of_birth == date(1979, 2, 28)
    assert stored.intake.sex == "female"
    kinds = [e.kind for e in stored.events]
    assert kinds.count(EventKind.DEVICE_GIVEN) == 2
    assert EventKind.END_CHECKS in kinds
    assert NURSE in {e.author for e in stored.events}
    rec = stored.esketamine
    assert rec is not None
    assert rec.lot == "LOT-55"
    assert rec.bp_before_dosing is not None
