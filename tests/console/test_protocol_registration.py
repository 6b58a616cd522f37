"""Adding a simulated protocol is one registration (issue 13).

A made-up protocol, ``twin`` (a Datex-speaking monitor with a driver class of its own), is
registered here with one :func:`devices.registry.register_protocol` call and nothing else:
the configuration, both command lines, the decode tool, the simulator, the headless ``run
--scenario`` and the console's chair assembly then all accept it.  The registration is undone
after each test, and the configuration refuses the name again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from console import cli as console_cli
from console.commands import run as run_command
from console.commands.run import RunSetup, assemble_chair
from console.config import ConfigError, load
from console.services.chair_service import ChairService
from console.services.session_values import ResumePolicy
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from devices import cli as devices_cli
from devices.clock import SystemClock
from devices.drivers.ge_datex import DatexDriver
from devices.registry import ProtocolSpec, driver_class, list_kinds, register_protocol
from devices.simulator.launch import driver_kind, protocols
from devices.simulator.monitor import DatexMonitorSim, NibpSchedule
from devices.simulator.signals import PatientModel
from tests.console.runs import scenario_file

HERE = "tests.console.test_protocol_registration"


class TwinDriver(DatexDriver):
    """The fake protocol's driver: its own kind, the Datex conversation underneath."""

    kind = "test-twin"
    model = "Twin (test only)"


def twin_monitor(patient: PatientModel, session_start: datetime, *, nibp: NibpSchedule) -> Any:
    """The fake protocol's virtual monitor."""
    return DatexMonitorSim(patient, session_start, nibp=nibp)


#: The whole of what adding the protocol takes.
TWIN = ProtocolSpec(
    "twin", "test-twin", f"{HERE}:TwinDriver", monitor=f"{HERE}:twin_monitor", aliases=("gemini",)
)

TWIN_CONFIG = """
[chair]
name = "Chair T"
[device]
kind = "sim"
interval_s = 2
[simulator]
protocol = "twin"
scenario = "routine"
"""


@pytest.fixture
def twin() -> Iterator[ProtocolSpec]:
    """``twin`` registered for one test, then taken away."""
    unregister = register_protocol(TWIN)
    try:
        yield TWIN
    finally:
        unregister()


def test_the_configuration_accepts_a_registered_protocol_and_only_then(
    twin: ProtocolSpec, tmp_path: Path
) -> None:
    path = tmp_path / "console.toml"
    path.write_text(
        TWIN_CONFIG
        + '\n[[chairs]]\nname = "A"\nprotocol = "gemini"\n'
        + '\n[[chairs]]\nname = "B"\nkind = "test-twin"\nurl = "/dev/ttyUSB9"\n'
    )
    settings = load(path, environ={})
    assert settings.simulator.protocol == "twin"
    assert settings.chairs[0].simulator.protocol == "twin"  # the older spelling, resolved
    assert settings.chairs[1].device.kind == "test-twin"
    assert "test-twin" in list_kinds()
    assert driver_class("test-twin") is TwinDriver
    with pytest.raises(ValueError, match="already taken"):  # one name, one protocol
        register_protocol(twin)


def test_after_the_test_the_protocol_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "console.toml"
    path.write_text(TWIN_CONFIG)
    with pytest.raises(ConfigError, match=r"\[simulator\] protocol 'twin' is not one of"):
        load(path, environ={})
    assert "twin" not in protocols()
    assert "test-twin" not in list_kinds()


def test_the_command_lines_and_tools_offer_it(twin: ProtocolSpec) -> None:
    args = console_cli.build_parser().parse_args(["--protocol", "twin", "--db", "sqlite://"])
    assert console_cli.settings_from_args(args).simulator.protocol == "twin"
    demo = console_cli.settings_from_args(
        console_cli.build_parser().parse_args(["--chairs", "5", "--db", "sqlite://"])
    )
    assert [c.simulator.protocol for c in demo.chairs][-1] == "twin"  # in the round-robin
    assert "twin" in protocols()
    assert driver_kind("twin") == "test-twin"
    spec, cls = devices_cli._protocol("twin")  # decode --protocol twin
    assert spec is twin
    assert cls is TwinDriver


def test_run_scenario_plays_it_through_the_simulator(
    twin: ProtocolSpec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run --scenario FILE --protocol twin``: simulator on a pty, the twin driver, storage."""
    code = run_command.main(
        [
            "--scenario",
            str(scenario_file(tmp_path, 2)),
            "--protocol",
            "twin",
            "--db",
            f"sqlite:///{tmp_path / 'qa.db'}",
        ]
    )
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 0, err
    assert summary["protocol"] == "twin"
    assert summary["passed"] is True
    assert summary["readings"]["HR"] > 0


@pytest.mark.gui
def test_the_console_and_run_assemble_the_same_twin_chair(
    twin: ProtocolSpec, qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "console.toml"
    path.write_text(TWIN_CONFIG)
    settings = load(path, environ={})
    engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    chair = ChairService(
        settings,
        writer=StorageWriter(engine, journal_dir=tmp_path / "journal"),
        repository=SessionRepository(engine),
        clock=SystemClock(),
        resume_policy=ResumePolicy.NEW,
    )
    c_driver, c_link = chair.device_parts()
    setup = RunSetup(
        clock=SystemClock(),
        scenario=chair.scenario,
        protocol="twin",
        seed=0,
        kind=driver_kind("twin"),
        driver_cls=driver_class(driver_kind("twin")),
        port=None,
        baud=None,
        duration_s=60.0,
        chair=settings.chair_name,
    )
    _pipeline, r_driver, r_link = assemble_chair(setup, settings, [], url=chair.device_url)

    assert chair.driver_kind == "test-twin"
    assert type(c_driver) is TwinDriver
    assert type(r_driver) is TwinDriver
    assert c_driver.interval_s == r_driver.interval_s == 2  # from_config got [device]
    assert r_link == c_link
    assert c_link.parity == "E"  # the driver class's own port settings
