"""IntelliVueDriver: the client conversation, readings, validity, NIBP once per cuff measurement.

Conversations are scripted with the spec-built monitor messages and with the sans-I/O simulator
(in memory, no threads); the pty tests run the same pair through a real tty.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import DriverOutput
from devices.drivers.philips_intellivue import (
    AARE_TIMEOUT_S,
    BACKOFF_S,
    MDS_CREATE_TIMEOUT_S,
    IntelliVueDriver,
    Phase,
)
from devices.model import METRIC_UNITS, Metric, Reading, ReadingFlag, TechnicalEventKind
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    AssociationMessage,
    DataExportMessage,
    FloatSpecial,
    IntelliVueFramer,
    NuObsValue,
    ObservationPoll,
    SingleContextPoll,
    frame_message,
)
from devices.registry import driver_class
from devices.simulator.intellivue_monitor import IntelliVueMonitorSim, SimPhase
from devices.simulator.monitor import NibpSchedule
from devices.simulator.signals import PatientModel
from tests.devices.vectors import intellivue_data, load_hex

T0 = datetime(2024, 3, 15, 10, 29, 58, tzinfo=UTC)
NIBP = (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)


def _vector(name: str) -> bytes:
    return load_hex(intellivue_data(name))


AARQ = _vector("01_association_request.hex")
AARE = _vector("02_association_result.hex")
MDS_CREATE = _vector("03_mds_create_event_report.hex")
RESULT = _vector("06_extended_poll_result_numerics.hex")


def _messages(frames: Sequence[bytes]) -> list[AssociationMessage | DataExportMessage]:
    framer = IntelliVueFramer()
    out: list[AssociationMessage | DataExportMessage] = []
    for frame in frames:
        result = framer.feed(frame)
        assert result.errors == []
        out += [piv.decode_message(m) for m in result.messages]
    return out


def _associated(driver: IntelliVueDriver | None = None) -> IntelliVueDriver:
    """A driver taken through handshake, AARE and MDS create with the spec-built vectors."""
    driver = driver or IntelliVueDriver("chair-1")
    driver.handshake()
    driver.feed(AARE + MDS_CREATE, T0)
    assert driver.phase is Phase.ASSOCIATED
    return driver


def _of(readings: Sequence[Reading], metric: Metric) -> list[Reading]:
    return [r for r in readings if r.metric is metric]


def _poll_result(
    observations: Sequence[ObservationPoll],
    *,
    rel: int = 0x00110760,
    abs_time: AbsoluteTime | None = None,
    linked: tuple[int, int] | None = None,
) -> bytes:
    message = piv.encode_poll_result(
        7,
        poll_number=1,
        sequence_no=1,
        rel_time_stamp=rel,
        abs_time_stamp=abs_time or AbsoluteTime.not_set(),
        contexts=[SingleContextPoll(0, tuple(observations))],
        linked=linked,
    )
    return frame_message(message)


def _numeric(
    physio: int,
    value: float | FloatSpecial,
    unit: int,
    state: int = 0,
    *,
    handle: int = 1,
    label: int | None = None,
) -> ObservationPoll:
    attributes = piv.numeric_attributes(
        label=piv.label_of(physio) if label is None else label,
        value=NuObsValue.of(physio, value, unit, state),
    )
    return ObservationPoll(handle, attributes)


def _nibp(
    values: tuple[float, float, float], stamp: datetime | None, state: int = 0
) -> ObservationPoll:
    codes = (
        piv.NOM_PRESS_BLD_NONINV_SYS,
        piv.NOM_PRESS_BLD_NONINV_DIA,
        piv.NOM_PRESS_BLD_NONINV_MEAN,
    )
    entries = [
        NuObsValue.of(c, v, piv.NOM_DIM_MMHG, state) for c, v in zip(codes, values, strict=True)
    ]
    attributes = piv.numeric_attributes(
        label=piv.label_of(piv.NOM_PRESS_BLD_NONINV),
        value=entries,
        time_abs=AbsoluteTime.from_datetime(stamp) if stamp else None,
    )
    return ObservationPoll(0xC0, attributes)


# -- metadata ----------------------------------------------------------------------------------
def test_static_description_and_registry() -> None:
    info = IntelliVueDriver.info()

    assert info.kind == "philips-intellivue"
    assert info.default_baud == 115200
    assert IntelliVueDriver.parity == "N"
    assert info.metrics == frozenset(Metric)
    assert driver_class("philips-intellivue") is IntelliVueDriver
    assert IntelliVueDriver().quiet_after_s == 5.0


@pytest.mark.parametrize(
    ("period", "renew", "keep_alive"),
    [(0.5, 0.1, 5.0), (60.0, 0.0, 5.0), (60.0, 59.9, 5.0), (60.0, 70.0, 5.0), (60.0, 50.0, 0.0)],
)
def test_constructor_rejects_periods_that_cannot_work(
    period: float, renew: float, keep_alive: float
) -> None:
    with pytest.raises(ValueError, match=r"poll_period_s|renew_before_s|keep_alive_s"):
        IntelliVueDriver(poll_period_s=period, renew_before_s=renew, keep_alive_s=keep_alive)


# -- conversation ------------------------------------------------------------------------------
def test_handshake_is_the_numerics_association_request() -> None:
    driver = IntelliVueDriver()

    assert driver.handshake() == [AARQ]
    assert driver.phase is Phase.WAIT_AARE


def test_association_then_mds_create_gets_the_result_and_the_first_poll() -> None:
    driver = IntelliVueDriver("chair-1", poll_period_s=60.0)
    driver.handshake()

    after_aare = driver.feed(AARE, T0)
    after_mds = driver.feed(MDS_CREATE, T0)

    assert after_aare == DriverOutput()
    assert driver.monitor_user_info is not None
    assert driver.monitor_user_info.system_type == piv.SYSTEM_TYPE_SERVER
    assert (after_mds.readings, after_mds.events, after_mds.errors) == ([], [], [])
    result, poll = _messages(after_mds.replies)
    assert isinstance(result, DataExportMessage)
    assert piv.is_mds_create_result(result)
    assert result.invoke_id == 1  # echoed from the event report
    assert frame_message(piv.encode_mds_create_result(1, 0x000ABD00)) == after_mds.replies[0]
    assert isinstance(poll, DataExportMessage)
    request = piv.decode_poll_request(poll)
    assert request is not None
    assert request.extended
    assert (request.obj_class, request.attr_group) == (piv.NOM_MOC_VMO_METRIC_NU, 0)
    assert request.period_ticks == 60 * 8000
    assert driver.phase is Phase.ASSOCIATED
    assert driver.monitor_model == ("Philips", "MX450")
    assert driver.clock_mapping == piv.ClockMapping(T0, 0x0010C8E0)
    assert driver.associations == 1


def test_poll_result_vector_06_becomes_readings() -> None:
    driver = _associated()
    received = T0 + timedelta(seconds=2, milliseconds=30)

    out = driver.feed(RESULT, received)

    assert out.errors == []
    table = {r.metric: r.value for r in out.readings}
    assert table == {
        Metric.HR: 72.0,
        Metric.NIBP_SYS: 120.0,
        Metric.NIBP_DIA: 80.0,
        Metric.NIBP_MEAN: 93.0,
        Metric.SPO2: 98.0,
        Metric.PR: 71.0,
        Metric.RR: 16.0,
        Metric.TEMP: 36.8,
    }
    assert len(out.readings) == 8
    for reading in out.readings:
        assert reading.unit == METRIC_UNITS[reading.metric]
        assert reading.valid
        assert reading.flags == ()
        assert reading.received_at == received
        assert reading.device_id == "chair-1"
        expected = datetime(2024, 3, 15, 10, 28, 10, tzinfo=UTC)
        if reading.metric not in NIBP:
            expected = datetime(2024, 3, 15, 10, 30, 0, tzinfo=UTC)
        assert reading.device_time == expected


def test_nibp_is_emitted_once_per_cuff_measurement() -> None:
    driver = _associated()
    first = datetime(2024, 3, 15, 10, 28, 10)
    second = datetime(2024, 3, 15, 10, 33, 10)

    out = [
        driver.feed(_poll_result([_nibp((120, 80, 93), first)]), T0).readings,
        driver.feed(_poll_result([_nibp((120, 80, 93), first)]), T0).readings,
        # Cuff inflating: old numbers flagged MSMT_ONGOING, then new numbers, new time stamp.
        driver.feed(_poll_result([_nibp((120, 80, 93), first, piv.MSMT_ONGOING)]), T0).readings,
        driver.feed(_poll_result([_nibp((131, 85, 100), second)]), T0).readings,
        driver.feed(_poll_result([_nibp((131, 85, 100), second)]), T0).readings,
    ]

    assert [len(batch) for batch in out] == [3, 0, 0, 3, 0]
    assert [r.value for r in out[3]] == [131.0, 85.0, 100.0]
    assert {r.device_time for r in out[3]} == {second.replace(tzinfo=UTC)}


def test_nibp_without_a_time_stamp_is_deduplicated_by_value() -> None:
    driver = _associated()

    batches = [
        driver.feed(_poll_result([_nibp(values, None)]), T0).readings
        for values in [(120, 80, 93), (120, 80, 93), (118, 79, 92)]
    ]

    assert [len(b) for b in batches] == [3, 0, 3]


def test_nibp_seen_survives_a_reassociation() -> None:
    driver = _associated()
    stamp = datetime(2024, 3, 15, 10, 28, 10)
    assert len(driver.feed(_poll_result([_nibp((120, 80, 93), stamp)]), T0).readings) == 3

    _associated(driver)  # reconnect: same monitor, same last measurement

    assert driver.feed(_poll_result([_nibp((120, 80, 93), stamp)]), T0).readings == []


@pytest.mark.parametrize(
    ("state", "flags"),
    [
        (piv.MSMT_INVALID, (ReadingFlag.INVALID,)),
        (piv.MSMT_QUESTIONABLE, (ReadingFlag.QUESTIONABLE,)),
        (piv.MSMT_UNAVAILABLE, (ReadingFlag.INVALID,)),
        (piv.MSMT_CALIBRATION_ONGOING, (ReadingFlag.NOT_CALIBRATED,)),
        (piv.MSMT_DEMO_DATA, (ReadingFlag.DEMO,)),
        (piv.MSMT_TEST_DATA, (ReadingFlag.DEMO,)),
        (piv.MSMT_DEMO_DATA | piv.MSMT_QUESTIONABLE, (ReadingFlag.QUESTIONABLE, ReadingFlag.DEMO)),
    ],
)
def test_state_flags_make_readings_invalid(state: int, flags: tuple[ReadingFlag, ...]) -> None:
    driver = _associated()
    frame = _poll_result(
        [_numeric(piv.NOM_ECG_CARD_BEAT_RATE, 80, piv.NOM_DIM_BEAT_PER_MIN, state)]
    )

    (reading,) = driver.feed(frame, T0).readings

    assert reading.metric is Metric.HR
    assert reading.value == 80.0  # kept for the record
    assert not reading.valid
    assert not reading.usable
    assert reading.flags == flags


def test_informative_state_bits_keep_a_reading_valid() -> None:
    driver = _associated()
    state = piv.MSMT_STATE_IN_ALARM | piv.MSMT_VALIDATED_DATA
    frame = _poll_result([_numeric(piv.NOM_PULS_OXIM_SAT_O2, 89, piv.NOM_DIM_PERCENT, state)])

    (reading,) = driver.feed(frame, T0).readings

    assert reading.usable
    assert reading.flags == ()


@pytest.mark.parametrize(
    ("special", "flag"),
    [
        (FloatSpecial.NAN, ReadingFlag.INVALID),
        (FloatSpecial.NRES, ReadingFlag.INVALID),
        (FloatSpecial.POS_INF, ReadingFlag.OVER_RANGE),
        (FloatSpecial.NEG_INF, ReadingFlag.UNDER_RANGE),
    ],
)
def test_special_float_values_give_value_less_invalid_readings(
    special: FloatSpecial, flag: ReadingFlag
) -> None:
    driver = _associated()
    frame = _poll_result([_numeric(piv.NOM_TEMP, special, piv.NOM_DIM_DEGC)])

    (reading,) = driver.feed(frame, T0).readings

    assert reading.metric is Metric.TEMP
    assert reading.value is None
    assert not reading.valid
    assert reading.flags == (flag,)


def test_units_are_converted_to_ucum() -> None:
    driver = _associated()
    frame = _poll_result(
        [
            _numeric(piv.NOM_TEMP, 98.6, piv.NOM_DIM_FAHR, handle=1),
            _nibp((120, 80, 93), None),
        ]
    )
    kpa = _poll_result(
        [
            ObservationPoll(
                0xC0,
                piv.numeric_attributes(
                    label=piv.label_of(piv.NOM_PRESS_BLD_NONINV),
                    value=[
                        NuObsValue.of(piv.NOM_PRESS_BLD_NONINV_SYS, 16.0, piv.NOM_DIM_KILO_PASCAL)
                    ],
                ),
            )
        ]
    )

    out = driver.feed(frame, T0).readings + driver.feed(kpa, T0).readings

    (temp,) = _of(out, Metric.TEMP)
    assert (temp.value, temp.unit) == (37.0, "Cel")
    sys_ = _of(out, Metric.NIBP_SYS)
    assert [(r.value, r.unit) for r in sys_] == [(120.0, "mm[Hg]"), (120.0099, "mm[Hg]")]


def test_a_unit_we_cannot_convert_gives_an_invalid_reading() -> None:
    driver = _associated()
    frame = _poll_result([_numeric(piv.NOM_ECG_CARD_BEAT_RATE, 72, piv.NOM_DIM_MMHG)])

    (reading,) = driver.feed(frame, T0).readings

    assert reading.value is None
    assert not reading.valid
    assert reading.flags == (ReadingFlag.INVALID,)


def test_physio_id_zero_falls_back_to_the_label_even_from_an_earlier_poll() -> None:
    driver = _associated()
    labelled = _numeric(0, 17, piv.NOM_DIM_RESP_PER_MIN, handle=9, label=piv.label_of(0x500A))
    unlabelled = ObservationPoll(
        9,
        piv.numeric_attributes(label=None, value=NuObsValue.of(0, 18, piv.NOM_DIM_RESP_PER_MIN)),
    )
    unknown = _numeric(0x1234, 5, piv.NOM_DIM_DIMLESS, handle=10)

    first = driver.feed(_poll_result([labelled, unknown]), T0).readings
    second = driver.feed(_poll_result([unlabelled]), T0).readings

    assert [(r.metric, r.value) for r in first] == [(Metric.RR, 17.0)]
    assert [(r.metric, r.value) for r in second] == [(Metric.RR, 18.0)]


def test_one_reading_per_metric_preferring_valid_then_airway_rr() -> None:
    driver = _associated()
    airway_ok = _numeric(piv.NOM_AWAY_RESP_RATE, 12, piv.NOM_DIM_RESP_PER_MIN, handle=1)
    airway_bad = _numeric(
        piv.NOM_AWAY_RESP_RATE, 12, piv.NOM_DIM_RESP_PER_MIN, piv.MSMT_INVALID, handle=1
    )
    impedance = _numeric(piv.NOM_RESP_RATE, 15, piv.NOM_DIM_RESP_PER_MIN, handle=2)

    both = driver.feed(_poll_result([impedance, airway_ok]), T0).readings
    fallback = driver.feed(_poll_result([airway_bad, impedance]), T0).readings

    assert [(r.metric, r.value) for r in both] == [(Metric.RR, 12.0)]
    assert [(r.metric, r.value) for r in fallback] == [(Metric.RR, 15.0)]


def test_time_falls_back_to_the_poll_header_then_none() -> None:
    driver = IntelliVueDriver()
    driver.handshake()
    driver.feed(AARE, T0)
    # An MDS create event without clock attributes: no mapping.
    bare = piv.encode_mds_create_event_report(4, 0, [])
    driver.feed(frame_message(bare), T0)
    assert driver.phase is Phase.ASSOCIATED
    assert driver.clock_mapping is None
    hr = _numeric(piv.NOM_ECG_CARD_BEAT_RATE, 70, piv.NOM_DIM_BEAT_PER_MIN)
    header_time = AbsoluteTime.from_datetime(datetime(2024, 1, 2, 3, 4, 5))

    (with_header,) = driver.feed(_poll_result([hr], abs_time=header_time), T0).readings
    (without,) = driver.feed(_poll_result([hr]), T0).readings

    assert with_header.device_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert without.device_time is None


def test_relative_time_stamp_of_an_observation_uses_the_clock_mapping() -> None:
    driver = _associated()
    attributes = piv.numeric_attributes(
        label=None,
        value=NuObsValue.of(piv.NOM_TEMP, 36.5, piv.NOM_DIM_DEGC),
        time_rel=0x0010C8E0 + 8000 * 60,
    )

    (reading,) = driver.feed(_poll_result([ObservationPoll(3, attributes)]), T0).readings

    assert reading.device_time == T0 + timedelta(seconds=60)


def test_linked_fragments_are_decoded_each_on_their_own() -> None:
    driver = _associated()
    hr = _numeric(piv.NOM_ECG_CARD_BEAT_RATE, 70, piv.NOM_DIM_BEAT_PER_MIN, handle=1)
    spo2 = _numeric(piv.NOM_PULS_OXIM_SAT_O2, 97, piv.NOM_DIM_PERCENT, handle=2)

    first = driver.feed(_poll_result([hr], linked=(piv.RORLS_FIRST, 1)), T0).readings
    last = driver.feed(_poll_result([spo2]), T0).readings

    assert [r.metric for r in first + last] == [Metric.HR, Metric.SPO2]


def test_poll_results_before_association_are_ignored() -> None:
    driver = IntelliVueDriver()
    driver.handshake()

    out = driver.feed(RESULT, T0)

    assert out == DriverOutput()


def test_frame_and_message_errors_are_returned_not_raised() -> None:
    driver = _associated()
    bad_fcs = bytearray(RESULT)
    bad_fcs[40] ^= 0xFF
    nonsense = frame_message(b"\xe1\x00\x00\x02\x00\x02\xff\xff")  # ROapdus length past the end
    roer = frame_message(piv._data_export(piv.ROER_APDU, 3, 9, b"", context=2))

    out = driver.feed(bytes(bad_fcs) + nonsense + roer + RESULT, T0)

    assert len(out.errors) == 2
    assert "FCS" in str(out.errors[0])
    assert out.errors[1].raw
    assert len(out.readings) == 8
    assert driver.phase is Phase.ASSOCIATED


@pytest.mark.parametrize(
    ("message", "detail", "reply"),
    [
        (piv.encode_abort(), "aborted", None),
        (piv.encode_refuse(), "refused", piv.encode_abort()),
        (piv.encode_release_request(), "released", piv.encode_release_result()),
    ],
)
def test_monitor_ending_the_association_is_a_disconnected_event(
    message: bytes, detail: str, reply: bytes | None
) -> None:
    driver = _associated()
    at = T0 + timedelta(seconds=30)

    out = driver.feed(frame_message(message), at)

    (event,) = out.events
    assert event.kind is TechnicalEventKind.DISCONNECTED
    assert detail in event.detail
    assert (event.at, event.device_id) == (at, "chair-1")
    assert out.replies == ([frame_message(reply)] if reply else [])
    assert driver.phase is Phase.BACKOFF
    assert driver.poll_requests(at + timedelta(seconds=BACKOFF_S - 0.1)) == []
    assert driver.poll_requests(at + timedelta(seconds=BACKOFF_S)) == [AARQ]
    # mypy keeps an earlier assert's narrowing across the calls that change it.
    assert driver.phase is Phase.WAIT_AARE  # type: ignore[comparison-overlap]


def test_refusal_of_the_association_request_backs_off() -> None:
    driver = IntelliVueDriver()
    driver.handshake()

    out = driver.feed(frame_message(piv.encode_refuse()), T0)

    assert [e.kind for e in out.events] == [TechnicalEventKind.DISCONNECTED]
    assert driver.phase is Phase.BACKOFF


def test_stray_association_messages_when_idle_are_ignored() -> None:
    driver = _associated()
    driver.close()

    out = driver.feed(frame_message(piv.encode_abort()) + AARQ + AARE, T0)

    assert out.events == []
    assert driver.phase is Phase.RELEASING


def test_no_association_result_means_asking_again() -> None:
    driver = IntelliVueDriver()
    driver.handshake()

    assert driver.poll_requests(T0) == []  # arms the time-out
    assert driver.poll_requests(T0 + timedelta(seconds=AARE_TIMEOUT_S - 0.1)) == []
    assert driver.poll_requests(T0 + timedelta(seconds=AARE_TIMEOUT_S)) == [AARQ]


def test_no_mds_create_event_means_abort_and_back_off() -> None:
    driver = IntelliVueDriver()
    driver.handshake()
    driver.feed(AARE, T0)

    assert driver.poll_requests(T0 + timedelta(seconds=MDS_CREATE_TIMEOUT_S - 1)) == []
    sent = driver.poll_requests(T0 + timedelta(seconds=MDS_CREATE_TIMEOUT_S))

    assert sent == [frame_message(piv.encode_abort())]
    assert driver.phase is Phase.BACKOFF


def _sent_kinds(frames: list[bytes]) -> list[str]:
    kinds = []
    for message in _messages(frames):
        assert isinstance(message, DataExportMessage)
        request = piv.decode_poll_request(message)
        assert request is not None
        kinds.append("poll" if request.extended else "keep-alive")
    return kinds


def test_poll_is_renewed_before_it_expires_and_silence_is_filled_by_keep_alives() -> None:
    driver = _associated(IntelliVueDriver(poll_period_s=20.0, renew_before_s=8.0))
    sent: dict[float, list[str]] = {}

    for tenth in range(1, 400):
        t = tenth / 10
        frames = driver.poll_requests(T0 + timedelta(seconds=t))
        if frames:
            sent[t] = _sent_kinds(frames)

    polls = [t for t, kinds in sent.items() if "poll" in kinds]
    keep_alives = [t for t, kinds in sent.items() if "keep-alive" in kinds]
    assert polls == [12.0, 24.0, 36.0]  # every 20 - 8 s after the first poll at T0
    assert keep_alives == [5.0, 10.0, 17.0, 22.0, 29.0, 34.0]
    assert driver.polls_sent == 4
    gaps = [b - a for a, b in itertools.pairwise([0.0, *sorted(sent)])]
    assert max(gaps) <= 5.0


def test_poll_requests_carry_increasing_invoke_ids_and_the_period() -> None:
    driver = _associated(IntelliVueDriver(poll_period_s=30.0, renew_before_s=20.0))

    frames = [driver.poll_requests(T0 + timedelta(seconds=s)) for s in (10, 20, 30)]
    messages = _messages([f for b in frames for f in b])
    exports = [m for m in messages if isinstance(m, DataExportMessage)]
    assert len(exports) == len(messages)
    requests = [piv.decode_poll_request(m) for m in exports]

    assert [r.invoke_id for r in requests if r] == [2, 3, 4]
    assert [r.period_ticks for r in requests if r] == [240000] * 3
    assert [r.poll_number for r in requests if r] == [2, 3, 4]


def test_on_quiet_aborts_and_reassociates() -> None:
    driver = _associated()

    sent = driver.on_quiet()

    assert sent == [frame_message(piv.encode_abort()), AARQ]
    assert driver.phase is Phase.WAIT_AARE
    assert driver.clock_mapping is None
    assert driver.feed(RESULT, T0).readings == []  # no numerics until associated again


def test_close_sends_the_release_request() -> None:
    driver = _associated()

    assert driver.close() == [frame_message(piv.encode_release_request())]
    assert driver.phase is Phase.RELEASING
    assert driver.poll_requests(T0 + timedelta(hours=1)) == []
    assert driver.feed(frame_message(piv.encode_release_result()), T0) == DriverOutput()


def test_wall_clock_going_back_does_not_silence_the_client() -> None:
    driver = _associated()  # renews every 10 s
    assert _sent_kinds(driver.poll_requests(T0 + timedelta(seconds=100))) == ["poll"]

    back = [driver.poll_requests(T0 + timedelta(seconds=s)) for s in (50, 55, 60)]

    assert [_sent_kinds(frames) for frames in back] == [[], ["keep-alive"], ["poll"]]


# -- with the in-memory simulator ---------------------------------------------------------------
def _converse(
    sim: IntelliVueMonitorSim,
    driver: IntelliVueDriver,
    seconds: float,
    *,
    start: datetime = T0,
    step_s: float = 0.25,
    send: bool = True,
) -> tuple[list[Reading], DriverOutput]:
    """Run driver and simulator against each other on a shared simulated clock."""
    everything = DriverOutput()
    pending = driver.handshake()
    for tick in range(round(seconds / step_s) + 1):
        now = start + timedelta(seconds=tick * step_s)
        for frame in pending:
            sim.receive(frame, now)
        pending = []
        for frame in sim.due(now):
            out = driver.feed(frame, now)
            everything.readings += out.readings
            everything.events += out.events
            everything.errors += out.errors
            pending += out.replies
        if send:
            pending += driver.poll_requests(now)
        else:
            driver.poll_requests(now)
    return everything.readings, everything


def _sim(**kwargs: object) -> IntelliVueMonitorSim:
    return IntelliVueMonitorSim(
        PatientModel("routine", seed=3),
        T0,
        nibp=NibpSchedule(first_start_s=30, interval_s=120),
        **kwargs,  # type: ignore[arg-type]
    )


def test_whole_session_with_the_simulator() -> None:
    sim = _sim()
    driver = IntelliVueDriver("chair-2", poll_period_s=20.0, renew_before_s=10.0)

    readings, out = _converse(sim, driver, 400)

    assert (out.errors, out.events) == ([], [])
    assert sim.phase is SimPhase.ASSOCIATED
    assert sim.associations == 1
    assert sim.extended_polls_seen == 40  # first poll + a renewal every 10 s
    hr = _of(readings, Metric.HR)
    assert 395 <= len(hr) <= 401  # one per second, never a gap when the poll is renewed
    assert all(r.usable and 40 < (r.value or 0) < 130 for r in hr)
    assert all(r.device_time is not None for r in readings)
    times = [r.device_time for r in hr if r.device_time is not None]
    assert times == sorted(times)
    nibp = _of(readings, Metric.NIBP_SYS)
    # Cuff cycles complete at 60, 180, 300 s; each reported once with its own time.
    assert [r.device_time for r in nibp] == [T0 + timedelta(seconds=s) for s in (60, 180, 300)]
    assert all(r.usable for r in nibp)
    temps = {r.value for r in _of(readings, Metric.TEMP)}
    assert all(36 < (t or 0) < 38 for t in temps)


def test_same_seed_same_session() -> None:
    def run() -> list[tuple[Metric, float | None, datetime | None]]:
        readings, _ = _converse(_sim(), IntelliVueDriver(), 90)
        return [(r.metric, r.value, r.device_time) for r in readings]

    assert run() == run()


def test_linked_results_from_the_simulator_give_the_same_readings() -> None:
    plain, _ = _converse(_sim(), IntelliVueDriver(), 100)
    linked_sim = _sim(max_objects_per_message=2)
    linked, out = _converse(linked_sim, IntelliVueDriver(), 100)

    def key(r: Reading) -> tuple[datetime | None, str]:
        return (r.device_time, r.metric.value)

    assert out.errors == []
    assert sorted((key(r), r.value) for r in linked) == sorted((key(r), r.value) for r in plain)
    assert linked_sim.results_sent > 3 * len(_of(linked, Metric.HR))


def test_demo_mode_monitor_never_gives_patient_data() -> None:
    readings, _ = _converse(_sim(extra_state=piv.MSMT_DEMO_DATA), IntelliVueDriver(), 90)

    assert readings
    assert not any(r.usable for r in readings)
    assert all(ReadingFlag.DEMO in r.flags for r in readings)


def test_silent_client_is_aborted_by_the_monitor() -> None:
    sim = _sim()
    driver = IntelliVueDriver(poll_period_s=20.0, renew_before_s=10.0)

    readings, out = _converse(sim, driver, 60, send=False)

    # Only the replies went out (MDS create result, first poll): after 10 s of silence the
    # monitor aborted (protocols.md 1.12), although the 20-s poll had not expired.
    assert 9 <= len(_of(readings, Metric.HR)) <= 12
    assert sim.timeouts == 1
    assert sim.phase is SimPhase.IDLE
    # It heard the abort and backed off; its next request (not delivered here) is pending.
    assert driver.phase in (Phase.BACKOFF, Phase.WAIT_AARE)
    assert [e.kind for e in out.events] == [TechnicalEventKind.DISCONNECTED]
    assert "aborted" in out.events[0].detail


def test_unrenewed_extended_poll_stops_when_its_period_expires() -> None:
    sim = _sim()
    _converse(sim, IntelliVueDriver(), 1)
    start = T0 + timedelta(seconds=1)
    sim.receive(
        frame_message(piv.encode_extended_poll_request(60, 1, period_ticks=5 * 8000)), start
    )
    results: list[float] = []

    for tick in range(1, 41):  # 20 s with a keep-alive every 2 s, but no renewal
        now = start + timedelta(seconds=tick / 2)
        if tick % 4 == 0:
            sim.receive(frame_message(piv.encode_single_poll_request(100 + tick, 2)), now)
        for message in _messages(sim.due(now)):
            assert isinstance(message, DataExportMessage)
            result = piv.decode_poll_result(message)
            if result is not None and result.sequence_no is not None:
                results.append(tick / 2)

    assert results == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0]  # seq 0 at once, then 1..5, then nothing
    assert sim.phase is SimPhase.ASSOCIATED


def test_simulator_refuses_a_second_association_and_honours_release() -> None:
    sim = _sim()
    driver = IntelliVueDriver()
    _converse(sim, driver, 5)
    now = T0 + timedelta(seconds=5)

    sim.receive(AARQ, now)
    refused = _messages(sim.due(now))
    sim.receive(frame_message(piv.encode_release_request()), now)
    released = _messages(sim.due(now))

    assert refused == [AssociationMessage(piv.RF_SPDU_SI)]
    assert released == [AssociationMessage(piv.DN_SPDU_SI)]
    assert sim.phase is SimPhase.IDLE
    assert sim.seconds_until_due(now) is None


def test_simulator_answers_other_polls_with_empty_results() -> None:
    sim = _sim()
    _converse(sim, IntelliVueDriver(), 2)
    now = T0 + timedelta(seconds=2)

    sim.receive(frame_message(piv.encode_extended_poll_request(50, 9, obj_class=9)), now)
    sim.receive(frame_message(piv.encode_single_poll_request(51, 10)), now)
    replies = _messages(sim.due(now))

    results = [piv.decode_poll_result(m) for m in replies if isinstance(m, DataExportMessage)]
    assert [(r.invoke_id, r.obj_class, r.contexts) for r in results if r] == [
        (50, 9, ()),
        (51, piv.NOM_MOC_VMS_MDS, ()),
    ]


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_of_the_monitor_stream_gives_the_same_readings(cuts: list[int]) -> None:
    stream = AARE + MDS_CREATE + RESULT + b"\x00\xc1" + RESULT[:50] + RESULT
    stream = stream[: len(stream)]
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    whole = IntelliVueDriver()
    whole.handshake()
    expected = whole.feed(stream, T0)
    driver = IntelliVueDriver()
    driver.handshake()
    readings: list[Reading] = []
    errors: list[str] = []

    for start, end in itertools.pairwise(bounds):
        out = driver.feed(stream[start:end], T0)
        readings += out.readings
        errors += [str(e) for e in out.errors]

    assert readings == expected.readings
    assert errors == [str(e) for e in expected.errors]
    assert len(readings) == 8 + 5  # NIBP only once
