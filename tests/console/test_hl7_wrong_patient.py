"""Wrong-patient HL7 data (issue 12 item 11), through a real pty and the console's pipeline.

Before: readings from any message type (ADT, QRY, ORM with OBX rows) and for any patient
(PID-3) went onto the chair.  Now only ORU^R01 is applied (configurable); a message naming
another patient than the session's is refused with an AE and raises "data for another patient
on this chair"; a chair bound to a bed (PV1-3) takes only that bed's messages.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.config import ConfigError, DeviceConfig, load
from console.domain.alarm_events import AlarmEvent, AlarmEventKind, TechnicalAlarmKind
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.domain.wrong_patient import HOLD_S
from console.services.driver_factory import build_driver, tell_session_mrn
from devices.drivers.hl7_gateway import Hl7Driver
from devices.model import Metric, Reading, TechnicalEvent, TechnicalEventKind
from devices.protocols.hl7_pcd01 import (
    MllpFramer,
    OruPatient,
    decode_ack,
    encode_oru,
    frame,
    observation_for,
)
from devices.runner import DeviceRunner, LinkConfig

T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


class _Chair:
    """A pipeline's outputs, with a way to wait for them."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.alarms: list[AlarmEvent] = []
        self.events: list[TechnicalEvent] = []
        self.cond = threading.Condition()

    def outputs(self) -> ChairOutputs:
        return ChairOutputs(self._readings, self._alarms, self._event, lambda s: None)

    def _readings(self, rs: list[Reading]) -> None:
        with self.cond:
            self.readings += rs
            self.cond.notify_all()

    def _alarms(self, evs: list[AlarmEvent]) -> None:
        with self.cond:
            self.alarms += evs
            self.cond.notify_all()

    def _event(self, ev: TechnicalEvent) -> None:
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def wrong_patient_onsets(self) -> list[AlarmEvent]:
        return [
            a
            for a in self.alarms
            if a.kind is AlarmEventKind.ONSET
            and a.technical_kind is TechnicalAlarmKind.WRONG_PATIENT
        ]


def _oru(
    n: int,
    hr: float,
    *,
    mrn: str = "MRN12345",
    bed: tuple[str, str, str] = ("INFUSION", "BAY3", "1"),
    kind: bytes = b"ORU^R01^ORU_R01",
) -> bytes:
    message = encode_oru(
        control_id=f"MSG{n:05d}",
        message_time=T0 + timedelta(seconds=10 * n),
        observations=[observation_for(Metric.HR, hr, T0 + timedelta(seconds=10 * n))],
        patient=OruPatient(mrn=mrn, unit=bed[0], room=bed[1], bed=bed[2]),
    )
    return frame(message.replace(b"ORU^R01^ORU_R01", kind, 1))


@contextlib.contextmanager
def _hl7_chair(driver: Hl7Driver) -> Iterator[tuple[int, _Chair]]:
    """The driver in a runner on a fresh pty, feeding a console pipeline."""
    master, slave = os.openpty()
    tty.setraw(slave)
    chair = _Chair()
    pipeline = ChairPipeline(ThresholdProfile(), [chair.outputs()], started_at=None)
    link = LinkConfig(os.ttyname(slave), Hl7Driver.default_baud, device_id="chair-w")
    runner = DeviceRunner(driver, link, pipeline, name="runner-wrong-patient")
    runner.start()
    try:
        with chair.cond:
            assert chair.cond.wait_for(
                lambda: any(e.kind is TechnicalEventKind.CONNECTED for e in chair.events), 5
            )
        yield master, chair
    finally:
        runner.stop()
        os.close(slave)
        os.close(master)


def _acks(master: int, count: int) -> list[tuple[str, str]]:
    framer = MllpFramer()
    acks: list[tuple[str, str]] = []
    deadline = time.monotonic() + 5
    while len(acks) < count and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            acks += [decode_ack(m) for m in framer.feed(os.read(master, 4096)).messages]
    return acks


@pytest.mark.expected_log(
    "devices.runner",
    r": frame error #\d+: HL7 MSG\d+: message type (ADT\^A01|ORM\^O01) not accepted here",
)
def test_only_oru_r01_is_applied_and_another_patient_is_refused_with_an_alarm() -> None:
    driver = Hl7Driver("chair-w")
    tell_session_mrn(driver, "MRN12345")
    with _hl7_chair(driver) as (master, chair):
        os.write(master, _oru(1, 71, kind=b"ADT^A01^ADT_A01"))  # an ADT with OBX rows
        os.write(master, _oru(2, 72, kind=b"ORM^O01^ORM_O01"))
        os.write(master, _oru(3, 140, mrn="MRN99999"))  # another patient's tachycardia
        os.write(master, _oru(4, 74))  # this chair's patient
        acks = _acks(master, 4)
        with chair.cond:
            assert chair.cond.wait_for(lambda: chair.readings and chair.wrong_patient_onsets(), 5)
    assert acks == [("AR", "MSG00001"), ("AR", "MSG00002"), ("AE", "MSG00003"), ("AA", "MSG00004")]
    assert [r.value for r in chair.readings] == [74]  # only the session's patient, from ORU
    (onset,) = chair.wrong_patient_onsets()
    assert "another patient" in onset.message
    wrong = [e for e in chair.events if e.kind is TechnicalEventKind.WRONG_PATIENT]
    assert len(wrong) == 1
    assert "MRN99999" not in wrong[0].detail  # no patient identifiers in events and logs
    assert sum(e.kind is TechnicalEventKind.FRAME_ERROR for e in chair.events) == 2


def test_without_a_patient_session_any_patient_is_applied_and_the_message_types_are_settable() -> (
    None
):
    driver = Hl7Driver("chair-w", accepted_types=("ORU^R01", "ORU^R30"))
    tell_session_mrn(driver, None)
    with _hl7_chair(driver) as (master, chair):
        os.write(master, _oru(1, 70, mrn="ANYONE"))
        os.write(master, _oru(2, 71, kind=b"ORU^R30^ORU_R30"))
        assert _acks(master, 2) == [("AA", "MSG00001"), ("AA", "MSG00002")]
        with chair.cond:
            assert chair.cond.wait_for(lambda: len(chair.readings) == 2, 5)
    assert chair.wrong_patient_onsets() == []


def test_a_chair_bound_to_its_bed_takes_only_that_beds_messages() -> None:
    device = DeviceConfig(kind="hl7-mllp", url="/dev/null", hl7_location="INFUSION^BAY3^2")
    driver = build_driver(Hl7Driver, device)
    assert isinstance(driver, Hl7Driver)
    with _hl7_chair(driver) as (master, chair):
        os.write(master, _oru(1, 70, bed=("INFUSION", "BAY3", "1")))  # the neighbour
        os.write(master, _oru(2, 80, bed=("INFUSION", "BAY3", "2")))  # this chair
        assert _acks(master, 2) == [("AA", "MSG00001"), ("AA", "MSG00002")]
        with chair.cond:
            assert chair.cond.wait_for(lambda: chair.readings, 5)
    assert [r.value for r in chair.readings] == [80]
    assert driver.messages_other_location == 1


def test_the_wrong_patient_alarm_ends_after_the_messages_stop() -> None:
    chair = _Chair()
    pipeline = ChairPipeline(
        ThresholdProfile(), [chair.outputs()], started_at=T0, min_silence_real_s=0
    )
    pipeline.on_event(TechnicalEvent(TechnicalEventKind.WRONG_PATIENT, T0, "x", "chair-w"))
    assert len(chair.wrong_patient_onsets()) == 1
    pipeline.tick(T0 + timedelta(seconds=HOLD_S - 1))
    assert not any(a.kind is AlarmEventKind.END for a in chair.alarms if "patient" in a.key)
    pipeline.tick(T0 + timedelta(seconds=HOLD_S + 1))
    assert any(a.kind is AlarmEventKind.END and a.key == "wrong_patient" for a in chair.alarms)


def test_config_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[device]\nkind = "hl7-mllp"\nurl = "/dev/ttyUSB0"\nhl7_accept = ["ORU^R01", "ORU"]\n'
        'hl7_location = "INFUSION^BAY3^1"\npush_interval_s = 30\n',
        encoding="utf-8",
    )
    settings = load(cfg, {"storage.db_url": "sqlite://"}, environ={})
    assert settings.device.hl7_accept == ("ORU^R01", "ORU")
    assert settings.device.hl7_location == "INFUSION^BAY3^1"
    assert settings.device.push_interval_s == 30.0
    cfg.write_text('[device]\nhl7_accept = ["oru r01"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="hl7_accept"):
        load(cfg, {"storage.db_url": "sqlite://"}, environ={})
