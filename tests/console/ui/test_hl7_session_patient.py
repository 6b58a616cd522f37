"""The chair tells its HL7 driver the open session's MRN (issue 12 item 11, console side).

A whole console on a real HL7 gateway link (a pty), driven through its chair service: opening a
patient's session gives the driver that MRN, so a message naming another patient is refused;
a monitoring-only record has no patient and checks nothing.
"""

from __future__ import annotations

import os
import tty
from datetime import date

import pytest

from console.services.session_values import SessionPlan
from devices.drivers.hl7_gateway import Hl7Driver
from tests.console.ui.conftest import ConsoleFactory


def _plan(mrn: str) -> SessionPlan:
    return SessionPlan(
        mrn=mrn,
        display_name="J.D.",
        weight_kg=80.0,
        weight_measured_on=date.today(),
        dose_mg_per_kg=0.5,
    )


@pytest.mark.gui
def test_new_sessions_set_the_drivers_patient(console_factory: ConsoleFactory) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        app = console_factory(
            **{
                "device.kind": "hl7-mllp",
                "device.url": os.ttyname(slave),
                "device.hl7_location": "INFUSION^BAY3",
            }
        )
        chair = app.chair
        assert chair.runner is not None
        driver = chair.runner.driver
        assert isinstance(driver, Hl7Driver)
        assert driver.location == "INFUSION^BAY3"
        assert driver.session_mrn is None  # the monitoring-only record has no patient
        chair.workflow.new_session(_plan("MRN-7001"), user="Nurse Kim")
        assert driver.session_mrn == "MRN-7001"
        chair.workflow.new_session(_plan("MRN-7002"), user="Nurse Kim")
        assert driver.session_mrn == "MRN-7002"
    finally:
        os.close(master)
        os.close(slave)
