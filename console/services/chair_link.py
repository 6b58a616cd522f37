"""A chair's device link: the simulator (if any), the port, the runner thread, the alarm ticker.

One job of the chair (issue 13), apart from its record, its workflow and its screen.  The link
feeds the alarm pipeline on threads of its own; nothing here waits for the GUI, and nothing
here is Qt.
"""

from __future__ import annotations

from datetime import datetime

from console.config import Settings
from console.domain.pipeline import ChairPipeline
from console.services.chair_assembly import make_link
from devices.base import Driver
from devices.clock import Clock
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import SimulatedMonitor, start_simulator
from devices.simulator.pty_endpoint import WireEndpoint
from devices.simulator.scenario import Scenario


class ChairLink:
    """Reads one chair's monitor (or its simulator) into its alarm pipeline.

    Args:
        settings: the chair's settings (``[device]``, ``[simulator]``).
        pipeline: the chair's alarm pipeline, fed by the runner thread.
        clock: the chair's clock.
        driver_cls: the driver of the chair's monitor (or of the simulated protocol).
        scenario: the simulated chair's script (None for a real monitor).
    """

    def __init__(
        self,
        settings: Settings,
        pipeline: ChairPipeline,
        clock: Clock,
        driver_cls: type[Driver],
        scenario: Scenario | None,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.clock = clock
        self.driver_cls = driver_cls
        self.scenario = scenario
        #: The virtual monitor of a simulated chair (kept after stop: its patient model).
        self.simulator: SimulatedMonitor | None = None
        #: The simulator's wire while it runs (a pty; on Windows a loopback TCP port).
        self.endpoint: WireEndpoint | None = None
        #: The thread that reads the port (None when stopped).
        self.runner: DeviceRunner | None = None

    @property
    def url(self) -> str:
        """The pyserial URL the chair reads (the simulator's pty path when simulated)."""
        if self.endpoint is not None:
            return self.endpoint.path
        return self.settings.device.url

    def parts(self) -> tuple[Driver, LinkConfig]:
        """The chair's driver and port settings, as ``run`` builds them too
        (:mod:`console.services.chair_assembly`)."""
        return make_link(
            self.driver_cls,
            self.settings.device,
            self.pipeline,
            url=self.url,
            device_id=self.settings.chair_name,
        )

    def start(self, session_start: datetime) -> None:
        """Start the simulator (if any), the runner and the alarm ticker."""
        name, sim = self.settings.chair_name, self.settings.simulator
        if self.scenario is not None:
            self.simulator = start_simulator(
                self.clock,
                protocol=sim.protocol,
                scenario=self.scenario,
                seed=sim.seed,
                session_start=session_start,
                name=f"sim-{name}",
            )
            self.endpoint = self.simulator.endpoint
        driver, link = self.parts()
        self.runner = DeviceRunner(
            driver, link, self.pipeline, clock=self.clock, name=f"runner-{name}"
        )
        self.runner.start()
        # Alarm timers run on the pipeline's own thread, not on a QTimer: a busy GUI must not
        # delay "communication lost" (see console.domain.pipeline).
        self.pipeline.start_ticking(self.clock, name=f"alarm-ticker-{name}")

    def stop(self) -> None:
        """Stop the ticker first (a stopping link is not a lost monitor), then the reader
        and the simulator's port."""
        self.pipeline.stop_ticking()
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
