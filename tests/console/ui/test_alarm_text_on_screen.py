"""Issue 11 item 9 on the real chair view: a paused infusion is amber, never the running green;
numerics are whole numbers; the banner's text explains the priority it wears."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from console.domain.session import InfusionState
from console.ui.session_dialogs import GateDialog, NewSessionDialog, ReasonDialog
from console.ui.timeline_strip import PAUSED_COLOURS, PHASE_COLOURS
from devices.model import DeviceState

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_paused_infusion_is_amber_and_running_is_green(qtbot: QtBot, console_factory: Any) -> None:
    app = console_factory(**{"simulator.speed": 60.0})
    panel, chair = app.window.panel, app.chair
    qtbot.waitUntil(lambda: chair.link_state == DeviceState.STREAMING.value, timeout=15_000)
    panel.trigger("new")
    new = panel.dialog
    assert isinstance(new, NewSessionDialog)
    new.mrn.setText("MRN-9")
    new.look_up_patient()
    new.patient_name.setText("A.B.")
    new.weight.setValue(70.0)
    new.dose.setValue(0.5)
    new.accept()
    panel.trigger("start")  # no baseline yet: a physician overrides the gate
    gate = panel.dialog
    assert isinstance(gate, GateDialog)
    gate.physician.setText("Dr Lee")
    gate.reason.setText("baseline taken on the ward")
    gate.accept()
    assert chair.lifecycle.infusion is InfusionState.RUNNING, panel.workflow_message.text()
    panel.strip.refresh()
    running_green = PHASE_COLOURS["infusion"]
    assert f"background: {running_green}" in panel.strip.phase.styleSheet()

    panel.trigger("pause")
    pause = panel.dialog
    assert isinstance(pause, ReasonDialog)
    pause.set_reason("nausea / vomiting")
    pause.accept()
    # mypy keeps an earlier assert's narrowing across the calls that change it.
    assert chair.lifecycle.infusion is InfusionState.PAUSED, panel.workflow_message.text()  # type: ignore[comparison-overlap]
    panel.strip.refresh()
    assert panel.strip.phase.text() == "INFUSION PAUSED"
    style = panel.strip.phase.styleSheet()
    assert f"background: {PAUSED_COLOURS[0]}" in style
    assert running_green not in style

    # Whole numbers on the numerics (SpO2, HR, RR), whatever the monitor sent.
    qtbot.waitUntil(lambda: panel.tiles["spo2"].value.text() != "---", timeout=5_000)
    for name in ("hr", "spo2", "rr"):
        text = panel.tiles[name].value.text()
        assert text == "---" or text.isdigit(), (name, text)
