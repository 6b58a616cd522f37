"""build_driver / tell_session_mrn: one place turns ``[device]`` settings into a driver."""

from __future__ import annotations

from console.config import DeviceConfig
from console.services.driver_factory import build_driver, tell_session_mrn
from devices.drivers.ge_datex import DatexDriver
from devices.drivers.hl7_gateway import Hl7Driver
from devices.drivers.masimo_radical import MasimoDriver


def test_datex_gets_the_record_interval() -> None:
    driver = build_driver(DatexDriver, DeviceConfig(interval_s=5))
    assert isinstance(driver, DatexDriver)
    assert driver.interval_s == 5


def test_hl7_gets_push_interval_accepted_types_and_location() -> None:
    device = DeviceConfig(
        push_interval_s=30.0, hl7_accept=("ORU^R01", "ORU^R30"), hl7_location="ICU^Bed 4"
    )
    driver = build_driver(Hl7Driver, device)
    assert isinstance(driver, Hl7Driver)
    assert driver.push_interval_s == 30.0
    assert driver.accepted_types == ("ORU^R01", "ORU^R30")
    assert driver.location == "ICU^Bed 4"


def test_a_driver_without_settings_is_built_plain_and_new_every_time() -> None:
    first = build_driver(MasimoDriver, DeviceConfig())
    second = build_driver(MasimoDriver, DeviceConfig())
    assert type(first) is MasimoDriver
    assert first is not second


def test_the_session_mrn_reaches_an_hl7_driver_trimmed_and_cleared() -> None:
    driver = build_driver(Hl7Driver, DeviceConfig())
    assert isinstance(driver, Hl7Driver)
    tell_session_mrn(driver, "  MRN-4711 ")
    assert driver.session_mrn == "MRN-4711"
    tell_session_mrn(driver, "   ")  # blank: no patient to guard
    assert driver.session_mrn is None
    tell_session_mrn(driver, "MRN-1")
    tell_session_mrn(driver, None)
    assert driver.session_mrn is None


def test_other_drivers_and_no_driver_ignore_the_mrn() -> None:
    datex = build_driver(DatexDriver, DeviceConfig())
    tell_session_mrn(datex, "MRN-4711")  # no patient identity on the wire: nothing to do
    tell_session_mrn(None, "MRN-4711")  # no link yet
    assert not hasattr(datex, "session_mrn")
