"""One chair, put together the same way by the console and by the headless ``run``.

``run`` used to wire its chair by hand and disagreed with the console on three settings: it
ignored the ``[device]`` options of its driver (the Datex record interval, the HL7 push
interval, accepted message types and bed), opened the port without the configured hardware
flow control, and derived "pulse is the heart rate" with its own rule (issue 13).  Both now
build the driver, the link and the alarm pipeline here, so the headless verdict judges the
chair a nurse sees.  Qt-free: ``run`` needs no GUI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from console.config import DeviceConfig, Settings
from console.domain.pipeline import MIN_SILENCE_REAL_S, ChairOutputs, ChairPipeline
from console.services.driver_factory import build_driver
from devices.base import Driver
from devices.model import Metric
from devices.runner import LinkConfig
from devices.simulator.monitor import NibpSchedule
from devices.simulator.scenario import Scenario, load_scenario
from devices.simulator.signals import SessionTimeline


def pulse_is_hr_source(metrics: frozenset[Metric]) -> bool:
    """True for a monitor with a pulse rate but no ECG HR (a pulse oximeter): its pulse is
    judged as the heart rate."""
    return Metric.HR not in metrics and Metric.PR in metrics


def simulated_scenario(settings: Settings) -> Scenario:
    """The script of a simulated chair: the configured scenario, or the plain profile.

    Raises:
        ScenarioError: the scenario cannot be found or is invalid.
    """
    sim = settings.simulator
    if sim.scenario:
        return load_scenario(sim.scenario)
    timeline = SessionTimeline(
        baseline_s=sim.baseline_min * 60,
        infusion_s=sim.infusion_min * 60,
        observation_s=sim.observation_min * 60,
    )
    return Scenario(
        name=sim.profile,
        description=f"simulated {sim.profile} patient",
        duration_s=timeline.total_s,
        profile=sim.profile,
        timeline=timeline,
        nibp=NibpSchedule(interval_s=sim.nibp_interval_s),
    )


def make_pipeline(
    settings: Settings,
    driver_cls: type[Driver],
    outputs: Sequence[ChairOutputs],
    *,
    scenario: Scenario | None,
    started_at: datetime | None = None,
    min_silence_real_s: float = MIN_SILENCE_REAL_S,
) -> ChairPipeline:
    """The chair's alarm pipeline: the clinic's limits, the NIBP cycle the scenario (or the
    clinic) sets, and what the monitor can measure."""
    return ChairPipeline(
        settings.alarm_profile,
        list(outputs),
        nibp_interval_s=scenario.nibp.interval_s
        if scenario is not None
        else settings.alarm_nibp_interval_s,
        started_at=started_at,
        min_silence_real_s=min_silence_real_s,
        pulse_as_hr=pulse_is_hr_source(driver_cls.metrics),
        measures_nibp=Metric.NIBP_SYS in driver_cls.metrics,
    )


def make_link(
    driver_cls: type[Driver],
    device: DeviceConfig,
    pipeline: ChairPipeline,
    *,
    url: str,
    device_id: str,
    baud: int | None = None,
) -> tuple[Driver, LinkConfig]:
    """The chair's driver (configured from ``[device]``) and how to open its port.

    ``baud`` overrides the configured rate (``run --baud``).  The pipeline learns how long the
    driver may be silent by design: a gateway pushing every 10 s is not lost after 10 s.
    """
    driver = build_driver(driver_cls, device)
    pipeline.engine.link_gap_s = driver.quiet_after_s
    link = LinkConfig(
        url=url,
        baudrate=baud or device.baud or driver_cls.default_baud,
        parity=driver_cls.parity,
        rtscts=device.rtscts,
        device_id=device_id,
    )
    return driver, link
