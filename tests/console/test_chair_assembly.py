"""The console and the headless ``run`` build the same chair from the same configuration.

``run`` wired its chair by hand and disagreed with the console on three settings (issue 13):
the driver's ``[device]`` options (it made a bare driver: HL7 push interval 10 s whatever was
configured, every message type accepted, no bed), the port's hardware flow control, and the
"pulse is the heart rate" rule.  Here both sides are built from one configuration file and
every setting of the driver, the port and the alarm pipeline is compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from console.commands.run import RunSetup, assemble_chair
from console.config import Settings, load
from console.domain.pipeline import ChairPipeline
from console.services.chair_service import ChairService
from console.services.session_values import ResumePolicy
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from devices.base import Driver
from devices.clock import SystemClock
from devices.registry import driver_class
from devices.runner import LinkConfig
from devices.simulator.launch import driver_kind
from devices.simulator.scenario import load_scenario

pytestmark = pytest.mark.gui

HL7_CONFIG = """
[chair]
name = "Chair 7"
[device]
kind = "hl7-mllp"
url = "socket://127.0.0.1:1"
baud = 19200
rtscts = true
push_interval_s = 30
hl7_accept = ["ORU^R01", "ORU^R30"]
hl7_location = "ICU^3^B"
[alarms]
nibp_interval_s = 600
"""

SIMULATED_CONFIG = """
[chair]
name = "Chair 2"
[device]
kind = "sim"
rtscts = true
[simulator]
protocol = "masimo"
scenario = "routine"
"""


def _settings_of(driver: Driver) -> dict[str, Any]:
    """A driver's configuration: its plain public attributes."""
    plain = (int, float, str, bool, tuple, frozenset, type(None))
    return {k: v for k, v in vars(driver).items() if not k.startswith("_") and isinstance(v, plain)}


def _pipeline_settings(p: ChairPipeline) -> dict[str, Any]:
    engine = p.engine
    return {
        "profile": engine.profile,
        "nibp_interval_s": engine.nibp_interval_s,
        "nibp_expected": engine.nibp_expected,
        "link_gap_s": engine.link_gap_s,
        "pulse_as_hr": p.pulse_as_hr,
    }


def _console_side(
    qtbot: QtBot, settings: Settings, tmp_path: Path
) -> tuple[ChairPipeline, Driver, LinkConfig, str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    writer = StorageWriter(engine, journal_dir=tmp_path / "journal")
    chair = ChairService(
        settings,
        writer=writer,
        repository=SessionRepository(engine),
        clock=SystemClock(),
        resume_policy=ResumePolicy.NEW,
    )
    driver, link = chair.device_parts()
    return chair.pipeline, driver, link, chair.device_url


def _run_side(
    settings: Settings, *, kind: str, scenario: str | None, url: str
) -> tuple[ChairPipeline, Driver, LinkConfig]:
    """What ``run --config FILE --device KIND --port URL`` (or ``--scenario``) builds."""
    setup = RunSetup(
        clock=SystemClock(),
        scenario=load_scenario(scenario) if scenario else None,
        protocol=settings.simulator.protocol if scenario else None,
        seed=0 if scenario else None,
        kind=kind,
        driver_cls=driver_class(kind),
        port=None if scenario else url,
        baud=None,
        duration_s=60.0,
        chair=settings.chair_name,
    )
    pipeline, driver, link = assemble_chair(setup, settings, [], url=url)
    return pipeline, driver, link


@pytest.mark.parametrize("config", [HL7_CONFIG, SIMULATED_CONFIG], ids=["hl7", "simulated"])
def test_run_and_console_build_the_same_chair(qtbot: QtBot, tmp_path: Path, config: str) -> None:
    path = tmp_path / "console.toml"
    path.write_text(config)
    settings = load(path, environ={})
    simulated = settings.device.simulated
    c_pipe, c_driver, c_link, url = _console_side(qtbot, settings, tmp_path)
    kind = driver_kind(settings.simulator.protocol) if simulated else settings.device.kind
    r_pipe, r_driver, r_link = _run_side(
        settings, kind=kind, scenario=settings.simulator.scenario if simulated else None, url=url
    )

    assert type(r_driver) is type(c_driver)
    assert _settings_of(r_driver) == _settings_of(c_driver)
    assert r_link == c_link
    assert _pipeline_settings(r_pipe) == _pipeline_settings(c_pipe)
    if not simulated:  # the configured values really arrived (not both left at defaults)
        assert c_link.rtscts
        assert c_link.baudrate == 19200
        assert getattr(c_driver, "push_interval_s", None) == 30
        assert getattr(c_driver, "location", None) == "ICU^3^B"
        assert c_pipe.engine.nibp_interval_s == 600
    else:
        assert c_pipe.pulse_as_hr  # a pulse oximeter's pulse is judged as the heart rate
