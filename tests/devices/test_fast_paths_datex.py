"""The Datex fast paths equal their references, on generated, mangled and captured input (issue 14).

Two fast paths, each held to the plain decoder it replaces in the driver's hot loop:

* ``ge_datex.checksum_fast`` (zlib.adler32, 256 bytes a call) against ``checksum`` (``sum()``),
  and the framer built on it against the same framer with ``checksum`` swapped in;
* ``ge_datex_fast.decode_phdb_record`` (two ``struct`` calls, shared ``DatexValue``s) against
  ``ge_datex.decode_phdb_record_reference`` (``decode_displayed_values(decode_record(r))``),
  value for value and error for error (type, text and raw bytes);
* and the driver as a whole: the same readings and errors on every capture either way.

Captured input is every GE capture we hold (tests/data, the shared protocol_vectors including the
one with line corruption, the 30-min CARESCAPE capture in resources/) plus a simulated stream.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from devices.drivers import ge_datex as datex_driver
from devices.drivers.ge_datex import DatexDriver
from devices.protocols import ge_datex
from devices.protocols.ge_datex import (
    DRI_EOL_SUBR_LIST,
    HEADER_LEN,
    PHDB_SUBRECORD_LEN,
    DatexFramer,
    checksum,
    checksum_fast,
    decode_phdb_record_reference,
)
from devices.protocols.ge_datex_fast import decode_phdb_record
from tests.devices.test_fast_paths import _mangled, _simulated_stream, outcome
from tests.devices.vectors import GE_DATA_DIR, load_hex, vectors_dir

ROOT = Path(__file__).resolve().parents[2]
CARESCAPE_30MIN = ROOT / "resources" / "captures" / "ge_datex_carescape_30min.raw"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _wire_files() -> list[Path]:
    """Every GE Datex byte stream we hold (the shared ones only when that directory exists)."""
    files = [*sorted(GE_DATA_DIR.iterdir()), CARESCAPE_30MIN]
    for shared in (vectors_dir() / "ge_datex", vectors_dir() / "spec_built" / "ge_datex"):
        if shared.is_dir():
            files += sorted(p for p in shared.iterdir() if p.suffix in (".raw", ".hex"))
    return files


def _wire(path: Path) -> bytes:
    return load_hex(path) if path.suffix == ".hex" else path.read_bytes()


@functools.cache
def captured_streams() -> tuple[bytes, ...]:
    """Each capture's bytes, and the simulated monitor's two minutes."""
    streams = [_wire(p) for p in _wire_files() if p.suffix in (".raw", ".hex")]
    streams.append(_simulated_stream("datex", 120))
    return tuple(streams)


@functools.cache
def captured_records() -> tuple[bytes, ...]:
    """Every record the framer accepts from :func:`captured_streams`."""
    return tuple(r for s in captured_streams() for r in DatexFramer().feed(s).records)


@contextmanager
def reference_paths() -> Iterator[None]:
    """The driver with both fast paths swapped for their references."""
    with (
        mock.patch.object(ge_datex, "frame_sum8", checksum),
        mock.patch.object(datex_driver, "decode_phdb_record", decode_phdb_record_reference),
    ):
        yield


def test_the_captured_input_is_there() -> None:
    """The captured properties are only as good as what they are fed: real PHDB records with a
    basic class, records without one (waves, requests), and the 30-min capture in full."""
    records = captured_records()
    decoded = [decode_phdb_record_reference(r) for r in records]
    assert len(records) > 3520
    assert sum(1 for v in decoded if v is not None and v.basic is not None) > 1760
    assert sum(1 for v in decoded if v is None) > 100


# ============================================================================================
# Checksum
# ============================================================================================


@settings(max_examples=400)
@given(record=st.binary(max_size=3300))
@example(record=b"")
@example(record=b"\xff" * 256)
@example(record=b"\xff" * 257)
@example(record=b"\xff" * 1600)
def test_checksum_fast_equals_sum(record: bytes) -> None:
    assert checksum_fast(record) == checksum(record)


def test_framer_gives_the_same_records_and_errors_with_either_checksum() -> None:
    for stream in captured_streams():
        fast = DatexFramer().feed(stream)
        with mock.patch.object(ge_datex, "frame_sum8", checksum):
            reference = DatexFramer().feed(stream)
        assert fast.records == reference.records
        assert [(str(e), e.raw) for e in fast.errors] == [(str(e), e.raw) for e in reference.errors]


# ============================================================================================
# Record decoding
# ============================================================================================


def assert_record_paths_agree(record: bytes) -> None:
    assert outcome(decode_phdb_record, record) == outcome(decode_phdb_record_reference, record)


def test_record_fast_equals_reference_on_captured_records() -> None:
    for record in captured_records():
        assert_record_paths_agree(record)


@settings(max_examples=400)
@given(data=st.data())
def test_record_fast_equals_reference_on_mangled_captured_records(data: st.DataObject) -> None:
    record = bytearray(data.draw(_mangled(data.draw(st.sampled_from(captured_records())))))
    if len(record) >= 2 and data.draw(st.booleans()):
        struct.pack_into("<h", record, 0, min(len(record), 0x7FFF))  # past the r_len check
    assert_record_paths_agree(bytes(record))


#: Raw i16s that reach every branch of decode_value: markers, the bounds around them, plain.
_raw_i16 = st.one_of(
    st.integers(-0x8000, 0x7FFF),
    st.sampled_from([-32768, -32767, -32766, -32765, -32764, -32763, -32762, -32001, -32000, 0]),
)
#: Offsets of the nine values decode_basic_class reads (protocols.md 2.6).
_VALUE_OFFSETS = (6, 14, 78, 80, 82, 92, 124, 126, 142)
#: A length or offset as encoded: usually right, sometimes a little off either way.
_skew = st.integers(0, 6).flatmap(lambda k: st.just(0) if k else st.integers(-300, 300))


@st.composite
def _phdb_subrecord(draw: st.DrawFn) -> bytes:
    block = bytearray(draw(st.binary(min_size=270, max_size=270)))
    for offset in _VALUE_OFFSETS:
        struct.pack_into("<h", block, offset, draw(_raw_i16))
    class_number = draw(st.one_of(st.sampled_from([0, 0, 1, 2, 3]), st.integers(0, 15)))
    low = draw(st.integers(0, 0xFF))
    return (
        struct.pack("<I", draw(st.integers(0, 0xFFFFFFFF)))
        + bytes(block)
        + draw(st.binary(min_size=2, max_size=2))
        + struct.pack("<H", class_number << 8 | low)
    )


@st.composite
def _generated_record(draw: st.DrawFn) -> bytes:
    """A DRI record: PHDB (mostly) or another main type, 0-4 subrecords of any class and
    record type, descriptor offsets and r_len sometimes off, the data sometimes cut short."""
    subrecords = draw(st.lists(_phdb_subrecord(), max_size=4))
    data = b"".join(subrecords)
    data = data[: len(data) - draw(st.sampled_from([0, 0, 0, 1, 2, 100]))]
    descriptors = []
    for index in range(len(subrecords)):
        sr_type = draw(st.one_of(st.sampled_from([1, 1, 2, 3, 0]), st.integers(0, 0xFE)))
        offset = index * PHDB_SUBRECORD_LEN + draw(_skew)
        descriptors.append((max(-0x8000, min(0x7FFF, offset)), sr_type))
    if len(descriptors) < 8:
        descriptors.append((0, DRI_EOL_SUBR_LIST))
    while len(descriptors) < 8:  # what follows the terminator is garbage on real monitors
        descriptors.append((draw(st.integers(-0x8000, 0x7FFF)), draw(st.integers(0, 0xFF))))
    maintype = draw(st.one_of(st.sampled_from([0, 0, 0, 1, 4]), st.integers(-0x8000, 0x7FFF)))
    r_len = HEADER_LEN + len(data) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    header = struct.pack(
        "<hBBHIBBHh",
        r_len,
        draw(st.integers(0, 0xFF)),
        draw(st.integers(0, 0xFF)),
        0,
        draw(st.integers(0, 0xFFFFFFFF)),
        0,
        0,
        0,
        maintype,
    )
    header += b"".join(struct.pack("<hB", offset, sr_type) for offset, sr_type in descriptors)
    return header + data


@settings(max_examples=600)
@given(record=_generated_record())
def test_record_fast_equals_reference_on_generated_records(record: bytes) -> None:
    assert_record_paths_agree(record)


@settings(max_examples=200)
@given(record=st.binary(max_size=120))
@example(record=b"")
@example(record=bytes(39))
def test_record_fast_equals_reference_on_arbitrary_bytes(record: bytes) -> None:
    assert_record_paths_agree(record)


def test_generated_records_reach_values_and_every_kind_of_error() -> None:
    """The generator is worth something only if it reaches each outcome of the reference."""
    seen: set[str] = set()

    @settings(max_examples=400, database=None)
    @given(record=_generated_record())
    def collect(record: bytes) -> None:
        result = outcome(decode_phdb_record_reference, record)
        if result[0] == "value":
            value = result[1]
            seen.add("none" if value is None else "basic" if value.basic else "no-basic")
        else:
            seen.add(" ".join(result[2].split(" ")[:2]))  # "DRI r_len", "PHDB subrecord" ...

    collect()
    assert {"none", "basic", "no-basic", "DRI r_len", "DRI subrecord", "PHDB subrecord"} <= seen


# ============================================================================================
# The driver
# ============================================================================================


def _driver_output(stream: bytes) -> tuple[list[object], list[tuple[str, bytes]]]:
    driver = DatexDriver(device_id="chair 1")
    readings: list[object] = []
    errors: list[tuple[str, bytes]] = []
    for i in range(0, len(stream), 4096):
        out = driver.feed(stream[i : i + 4096], NOW)
        readings += out.readings
        errors += [(str(e), e.raw) for e in out.errors]
    return readings, errors


def test_driver_gives_the_same_readings_and_errors_with_the_reference_paths() -> None:
    for stream in captured_streams():
        fast = _driver_output(stream)
        with reference_paths():
            reference = _driver_output(stream)
        assert fast == reference
    assert len(_driver_output(CARESCAPE_30MIN.read_bytes())[0]) > 7000
