"""Settings: defaults < user file < environment < command line, validated into frozen dataclasses.

``resources/default_config.toml`` is the single list of options with their defaults and comments;
:mod:`console.config_schema` declares each key's type, default and rules.  :func:`load` merges
the four sources and checks them with that schema, naming the offending key on any bad value in
one line, so a typo in a clinic's config file is a clear message at start-up, never a surprise
during a session.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError

from console.config_messages import first_problem
from console.config_schema import (
    MAX_CHAIRS,
    SIM_KIND,
    SIM_PROFILES,
    ChairEntry,
    ConfigError,
    ConsoleFile,
    DeviceFields,
    sim_protocols,
)
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import AlarmPolicy
from console.domain.observations import ObservationSchedule
from console.storage.private import private_dir
from devices.registry import protocol_aliases, simulated_protocols
from devices.resources import resource_path

__all__ = [
    "APP_NAME",
    "DB_OPTION",
    "DEFAULT_CONFIG",
    "ENV_DB_URL",
    "MAX_CHAIRS",
    "SIM_KIND",
    "SIM_PROFILES",
    "SIM_PROTOCOLS",
    "SIM_PROTOCOL_ALIASES",
    "ChairConfig",
    "ConfigError",
    "DeviceConfig",
    "Settings",
    "SimulatorConfig",
    "chair_settings",
    "default_db_url",
    "default_journal_dir",
    "load",
    "sim_protocols",
    "simulated_chairs",
    "user_config_file",
    "with_db",
]

APP_NAME = "infusion-console"
ENV_DB_URL = "INFUSION_CONSOLE_DB_URL"
#: Shipped in the wheel (package infusion_resources), read as a package resource (issue 15).
DEFAULT_CONFIG = resource_path("default_config.toml")
#: The ``--db URL`` option of every command line, named when the URL it gave is refused.
DB_OPTION = {"storage.db_url": "--db"}
#: The simulator's protocols as registered when this module loaded (for callers that want a
#: constant).  Validation and the command line ask :func:`sim_protocols`, which also sees a
#: protocol registered later (``devices.registry.register_protocol``).
SIM_PROTOCOLS = tuple(simulated_protocols())
#: Older spellings of simulator protocols, still accepted in configuration files (as
#: registered at load time; validation asks the registry).
SIM_PROTOCOL_ALIASES = protocol_aliases()


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """How one chair reaches its monitor."""

    kind: str = SIM_KIND
    url: str = ""
    baud: int = 0
    rtscts: bool = False
    interval_s: int = 1
    #: HL7 gateway: seconds between its pushes; "communication lost" waits for a missed one.
    push_interval_s: float = 10.0
    #: HL7 gateway: MSH-9 types whose observations are applied; others are refused (AR).
    hl7_accept: tuple[str, ...] = ("ORU^R01",)
    #: HL7 gateway: this chair's bed as PV1-3 (``unit^room^bed``, parts may be left empty);
    #: empty: every message on the port is this chair's.
    hl7_location: str = ""

    @property
    def simulated(self) -> bool:
        """True for the built-in simulator."""
        return self.kind == SIM_KIND


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """The built-in simulated monitor and patient."""

    protocol: str = "datex"
    profile: str = "routine"
    #: A scripted scenario (built-in name or .toml path); empty: the profile on the timeline
    #: and NIBP cycle below, with no scripted events.
    scenario: str = ""
    seed: int = 1
    speed: float = 1.0
    nibp_interval_s: float = 300.0
    baseline_min: float = 5.0
    infusion_min: float = 40.0
    observation_min: float = 30.0


@dataclass(frozen=True, slots=True)
class ChairConfig:
    """One chair of a multi-chair console (a ``[[chairs]]`` entry): its name and its monitor."""

    name: str
    device: DeviceConfig = field(default_factory=DeviceConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the console needs to start, validated."""

    db_url: str
    chair_name: str = "Chair 1"
    device: DeviceConfig = field(default_factory=DeviceConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    #: The ``[[chairs]]`` list; empty means one chair from ``chair_name``/``device``/``simulator``.
    chairs: tuple[ChairConfig, ...] = ()
    alarm_policy: AlarmPolicy = field(default_factory=AlarmPolicy)
    #: The clinic-default threshold profile: ``alarm_policy`` plus timings and baseline rules.
    alarm_profile: ThresholdProfile = field(default_factory=ThresholdProfile)
    #: The monitor's automatic NIBP cycle for a real device (``[alarms] nibp_interval_s``);
    #: with the simulator, ``simulator.nibp_interval_s`` is used instead.
    alarm_nibp_interval_s: float = 300.0
    #: Timed structured observations (``[observations]``, issue 17).
    observations: ObservationSchedule = field(default_factory=ObservationSchedule)
    #: Minutes without input before the console's screen locks (``[accounts]``, issue 16).
    idle_lock_min: float = 10.0


def default_db_url() -> str:
    """SQLite file in the per-user data directory (created on demand)."""
    data_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    try:
        private_dir(data_dir)
    except OSError as err:
        raise ConfigError(
            f"cannot create the data directory {str(data_dir)!r} for the default database "
            f"({err.strerror}); give one with --db URL"
        ) from None
    return f"sqlite:///{data_dir / 'infusion-console.sqlite3'}"


def user_config_file() -> Path:
    """The clinic's configuration file read when no ``--config`` is given (if it exists).

    Linux ``~/.config/infusion-console/console.toml``, Windows
    ``%LOCALAPPDATA%\\infusion-console\\console.toml``, macOS ``~/Library/Application
    Support/infusion-console/console.toml`` (platformdirs).  Why: on an installed PC the
    shortcut, the headless commands and a technician's shell must all read the same settings
    (the database URL above all); a ``--config`` forgotten once sent records to a local file.
    """
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "console.toml"


def default_journal_dir() -> Path:
    """Where the storage writer spools batches while the database is unreachable.

    The console and the headless ``run`` share it: either one's next start writes what the
    other left there (the journal files are named after the database).
    """
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "journal"


class _NotRegularFileError(OSError):
    """A device or FIFO (``/dev/zero`` would be read forever)."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise _NotRegularFileError(path)
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except _NotRegularFileError:
        raise ConfigError(f"config file {str(path)!r} is not a regular file") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a directory") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text: {err}") from None
    except OSError as err:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _device(table: DeviceFields) -> DeviceConfig:
    return DeviceConfig(
        kind=table.kind,
        url=table.url,
        baud=table.baud,
        rtscts=table.rtscts,
        interval_s=table.interval_s,
        push_interval_s=float(table.push_interval_s),
        hl7_accept=table.hl7_accept,
        hl7_location=table.hl7_location,
    )


def _chair(entry: ChairEntry, index: int, sim_defaults: SimulatorConfig) -> ChairConfig:
    """A ``[[chairs]]`` entry; unset simulator keys come from ``[simulator]``.

    One edit of ``[simulator]`` (profile, timeline, scenario) applies to every simulated
    chair, and each gets its own patient: the seed defaults to ``[simulator] seed`` + the
    entry's position.  The clock speed is always the global one.  A real chair inherits
    nothing from ``[device]``: each names its own port, so one cable is never silently shared.
    """
    given = {
        key: getattr(entry, key) for key in ChairEntry.SIM_KEYS if getattr(entry, key) is not None
    }
    simulator = replace(sim_defaults, seed=sim_defaults.seed + index, **given)
    return ChairConfig(entry.name, _device(entry), simulator)


def _settings(checked: ConsoleFile) -> Settings:
    """The validated file as the frozen dataclasses the console uses."""
    sim = checked.simulator
    simulator = SimulatorConfig(
        protocol=sim.protocol,
        profile=sim.profile,
        scenario=sim.scenario,
        seed=sim.seed,
        speed=float(sim.speed),
        nibp_interval_s=float(sim.nibp_interval_s),
        baseline_min=float(sim.baseline_min),
        infusion_min=float(sim.infusion_min),
        observation_min=float(sim.observation_min),
    )
    alarms = checked.alarms
    policy = checked.policy()
    profile = ThresholdProfile(
        alarms.profile_name, policy, alarms.timings(), alarms.baseline.rules()
    )
    return Settings(
        db_url=checked.storage.db_url or default_db_url(),
        chair_name=checked.chair.name,
        device=_device(checked.device),
        simulator=simulator,
        chairs=tuple(_chair(c, i, simulator) for i, c in enumerate(checked.chairs)),
        alarm_policy=policy,
        alarm_profile=profile,
        alarm_nibp_interval_s=float(alarms.nibp_interval_s),
        observations=checked.observations.schedule(),
        idle_lock_min=float(checked.accounts.idle_lock_min),
    )


def simulated_chairs(
    count: int, simulator: SimulatorConfig, *, protocols: tuple[str, ...] | None = None
) -> tuple[ChairConfig, ...]:
    """``count`` simulated chairs for a demo: "Chair 1".."Chair N", seeds seed..seed+N-1.

    Protocols are given round-robin (default: every registered one), so a demo exercises
    every codec side by side.

    Raises:
        ConfigError: ``count`` is not 1-MAX_CHAIRS (32).
    """
    if not 1 <= count <= MAX_CHAIRS:
        raise ConfigError(f"--chairs must be 1-{MAX_CHAIRS}, got {count}")
    protocols = protocols or sim_protocols()
    return tuple(
        ChairConfig(
            f"Chair {i + 1}",
            DeviceConfig(),
            replace(simulator, seed=simulator.seed + i, protocol=protocols[i % len(protocols)]),
        )
        for i in range(count)
    )


def chair_settings(settings: Settings) -> list[Settings]:
    """One single-chair :class:`Settings` per chair, each what a ``ChairService`` is built from.

    Without ``[[chairs]]`` this is ``[settings]`` itself, so the single-chair console behaves
    exactly as before; with them, each copy carries one chair's name, device and simulator.
    """
    if not settings.chairs:
        return [settings]
    return [
        replace(settings, chair_name=c.name, device=c.device, simulator=c.simulator, chairs=())
        for c in settings.chairs
    ]


def load(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    option_names: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from defaults, a user file, the environment and CLI overrides.

    All four are merged first and then checked by one schema (:mod:`console.config_schema`),
    so a bad value gets the same message wherever it came from.

    Args:
        config_file: optional user TOML file with any subset of the default file's keys;
            None: :func:`user_config_file` if it exists.
        overrides: CLI values as ``{"section.key": value}``; None values are ignored.
        environ: environment (``os.environ`` by default); ``INFUSION_CONSOLE_DB_URL`` sets the DB.
        option_names: the command-line option behind each override (``{"simulator.speed":
            "--speed"}``), named in the message when its value is refused.

    Raises:
        ConfigError: an unknown section or key, or an invalid value: one line naming it.
    """
    environ = os.environ if environ is None else environ
    raw = _read_toml(DEFAULT_CONFIG)
    implicit = config_file is None and user_config_file().is_file()
    if implicit:
        config_file = user_config_file()
    if config_file is not None:
        user = _read_toml(config_file)
        if "limits" in user:  # a user limit list replaces the defaults whole, never half-merges
            raw.pop("limits", None)
        raw = _merge(raw, user)
    origins: dict[str, str] = {}
    if environ.get(ENV_DB_URL):
        raw.setdefault("storage", {})["db_url"] = environ[ENV_DB_URL]
        origins["storage.db_url"] = ENV_DB_URL
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        table = raw.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = value
        origins[dotted] = (option_names or {}).get(dotted, "the command line")
    try:
        checked = ConsoleFile.model_validate(raw)
    except ValidationError as err:
        # A file nobody named on the command line is named in the message.
        in_file = f"in {config_file}" if implicit else None
        raise ConfigError(first_problem(err, origins, otherwise=in_file)) from None
    return _settings(checked)


def with_db(settings: Settings, db_url: str) -> Settings:
    """Copy of ``settings`` using another database."""
    return replace(settings, db_url=db_url)
