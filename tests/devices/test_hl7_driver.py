"""Hl7Driver: messages to readings, one ACK or NAK per message, duplicates and repeated NIBP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from devices.drivers.hl7_gateway import Hl7Driver
from devices.model import NIBP_METRICS, Metric, Reading
from devices.protocols.hl7_pcd01 import (
    MllpFramer,
    decode_ack,
    decode_message,
    encode_ack,
    encode_oru,
    frame,
    observation_for,
)
from devices.registry import driver_class, list_kinds
from devices.simulator.hl7_gateway_sim import Hl7GatewaySim, Hl7MessageSource
from devices.simulator.signals import PatientModel
from tests.devices.vectors import load_hex

DATA = Path(__file__).resolve().parents[1] / "data" / "hl7"
T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
ACK_TIME = datetime(2024, 3, 15, 10, 30, 1, tzinfo=UTC)


def _oru(control_id: str, *, nibp: tuple[int, int, int] = (120, 80, 93), cuff_s: int = 0) -> bytes:
    cuff = T0 - timedelta(minutes=2) + timedelta(seconds=cuff_s)
    return frame(
        encode_oru(
            control_id=control_id,
            message_time=T0,
            observations=[
                observation_for(Metric.HR, 72, T0),
                observation_for(Metric.NIBP_SYS, nibp[0], cuff),
                observation_for(Metric.NIBP_DIA, nibp[1], cuff),
                observation_for(Metric.NIBP_MEAN, nibp[2], cuff),
            ],
        )
    )


def _acks(replies: list[bytes]) -> list[tuple[str, str]]:
    framer = MllpFramer()
    return [decode_ack(m) for reply in replies for m in framer.feed(reply).messages]


def _nibp(readings: list[Reading]) -> list[Reading]:
    return [r for r in readings if r.metric in NIBP_METRICS]


def test_static_description_and_registration() -> None:
    info = Hl7Driver.info()

    assert info.kind == "hl7-mllp"
    assert info.default_baud == 9600
    assert Metric.NIBP_SYS in info.metrics
    assert "hl7-mllp" in list_kinds()
    assert driver_class("hl7-mllp") is Hl7Driver
    driver = Hl7Driver()
    assert driver.handshake() == []
    assert driver.on_quiet() == []
    assert 30.0 <= driver.quiet_after_s <= 120.0


def test_vector_02_gives_its_readings_and_vector_03_as_the_reply() -> None:
    driver = Hl7Driver(device_id="chair-h")

    out = driver.feed(load_hex(DATA / "02_oru_r01_pcd01.mllp.hex"), ACK_TIME)

    assert out.errors == []
    assert out.replies == [load_hex(DATA / "03_ack.mllp.hex")]
    assert {r.metric: r.value for r in out.readings} == {
        Metric.HR: 72,
        Metric.NIBP_SYS: 120,
        Metric.NIBP_DIA: 80,
        Metric.NIBP_MEAN: 93,
        Metric.SPO2: 98,
        Metric.PR: 71,
        Metric.RR: 16,
        Metric.TEMP: 36.8,
    }
    assert all(r.usable and r.device_id == "chair-h" for r in out.readings)
    assert all(r.received_at == ACK_TIME for r in out.readings)


def test_byte_by_byte_feeding_gives_the_same_readings_and_replies() -> None:
    wire = load_hex(DATA / "02_oru_r01_pcd01.mllp.hex") * 2
    whole = Hl7Driver().feed(wire, ACK_TIME)
    driver = Hl7Driver()

    outs = [driver.feed(wire[i : i + 1], ACK_TIME) for i in range(len(wire))]

    assert [r for o in outs for r in o.readings] == whole.readings
    assert [r for o in outs for r in o.replies] == whole.replies


def test_duplicates_are_acknowledged_again_but_not_emitted_again() -> None:
    driver = Hl7Driver()

    first = driver.feed(_oru("MSG1"), T0)
    again = driver.feed(_oru("MSG1"), T0)

    assert _acks(first.replies) == [("AA", "MSG1")]
    assert _acks(again.replies) == [("AA", "MSG1")]
    assert again.readings == []
    assert driver.duplicates == 1


def test_nibp_is_emitted_once_per_cuff_measurement() -> None:
    driver = Hl7Driver()

    one = driver.feed(_oru("M1"), T0).readings
    repeat = driver.feed(_oru("M2"), T0).readings  # same cuff result repeated by the gateway
    new = driver.feed(_oru("M3", nibp=(130, 85, 100), cuff_s=300), T0).readings

    assert len(_nibp(one)) == 3
    assert _nibp(repeat) == []
    assert [r.metric for r in repeat] == [Metric.HR]
    assert [r.value for r in _nibp(new)] == [130, 85, 100]


def test_garbage_in_a_frame_gets_ar_and_a_bad_segment_gets_ae() -> None:
    driver = Hl7Driver()
    good = _oru("MSG7").decode()
    broken = good.replace("\rOBX|1|", "\rthis is not a segment\rOBX|1|").encode()

    out = driver.feed(frame(b"\x00\x01 garbage") + broken + _oru("MSG8"), T0)

    assert [(code, acked) for code, acked in _acks(out.replies)] == [
        ("AR", ""),
        ("AE", "MSG7"),
        ("AA", "MSG8"),
    ]
    assert len(out.errors) == 2
    assert [r.metric for r in out.readings][:1] == [Metric.HR]
    assert driver.messages_rejected == 2
    assert driver.messages_ok == 1


def test_acks_are_not_acknowledged() -> None:
    driver = Hl7Driver()
    (raw,) = MllpFramer().feed(_oru("X1")).messages

    ack = frame(encode_ack(decode_message(raw).header, control_id="A1", now=T0))

    out = driver.feed(ack, T0)

    assert out.replies == []
    assert out.errors == []


def test_ack_ids_count_up_and_application_can_be_set() -> None:
    driver = Hl7Driver(application="CONSOLE2", facility="SITE9", ack_id_prefix="C")

    out = driver.feed(_oru("A") + _oru("B"), T0)

    headers = [reply[1:].split(b"\r")[0].split(b"|") for reply in out.replies]
    assert [h[9] for h in headers] == [b"C00001", b"C00002"]
    assert {(h[2], h[3]) for h in headers} == {(b"CONSOLE2", b"SITE9")}


# -- serial gateway simulator (sans-I/O) -----------------------------------------------------------
def test_gateway_sim_and_driver_converse() -> None:
    source = Hl7MessageSource(PatientModel("routine", seed=2), T0, nibp_interval_s=60)
    sim = Hl7GatewaySim(source, interval_s=10)
    driver = Hl7Driver()
    readings: list[Reading] = []

    for second in range(0, 181, 5):
        now = T0 + timedelta(seconds=second)
        for chunk in sim.due(now):
            out = driver.feed(chunk, now)
            readings += out.readings
            for reply in out.replies:
                sim.receive(reply, now)

    assert len(sim.sent_ids) == 19
    assert sim.acked_ids == set(sim.sent_ids)
    assert sim.bad_replies == 0
    hr = [r.value for r in readings if r.metric is Metric.HR]
    pr = [r.value for r in readings if r.metric is Metric.PR]
    assert hr == pr
    assert len(hr) == 19
    # Cuff cycles complete at 60 s, 120 s and 180 s; each is emitted once with its own time.
    sys_ = [r for r in readings if r.metric is Metric.NIBP_SYS]
    assert [r.device_time for r in sys_] == [T0 + timedelta(seconds=s) for s in (60, 120, 180)]


def test_a_malformed_escape_gets_a_nak_not_an_exception() -> None:
    from datetime import UTC, datetime

    from devices.drivers.hl7_gateway import Hl7Driver
    from devices.protocols import hl7_pcd01

    msg = (
        b"MSH|^~\\&|GW|CL|KC|CL|20240315103000||ORU^R01^ORU_R01|BAD1|P|2.6\r"
        b"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        b"|\\.spO3\\||||R\r"
    )
    driver = Hl7Driver()
    out = driver.feed(hl7_pcd01.frame(msg), datetime(2024, 3, 15, tzinfo=UTC))
    assert out.readings == []
    assert len(out.replies) == 1
    code, _acked = hl7_pcd01.decode_ack(hl7_pcd01.MllpFramer().feed(out.replies[0]).messages[0])
    assert code in {"AE", "AR"}
