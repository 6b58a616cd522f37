"""Settings: defaults < user file < environment < command line, validated into frozen dataclasses.

``resources/default_config.toml`` is the single list of options with their defaults and comments.
:func:`load` names the offending key on any bad value, so a typo in a clinic's config file is a
clear message at start-up, never a surprise during a session.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from console.domain.alarm_profiles import DEFAULT_BASELINE_RULES, AlarmTimings, ThresholdProfile
from console.domain.alarm_rules import (
    AlarmPolicy,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    check_unit,
)
from console.domain.observations import ObservationSchedule, parse_points
from console.storage.private import private_dir
from devices.model import Metric
from devices.registry import canonical_kind, list_kinds, protocol_aliases, simulated_protocols

APP_NAME = "infusion-console"
ENV_DB_URL = "INFUSION_CONSOLE_DB_URL"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULT_CONFIG = RESOURCES / "default_config.toml"
SIM_KIND = "sim"
#: The simulator's protocols as registered when this module loaded (for callers that want a
#: constant).  Validation and the command line ask :func:`sim_protocols`, which also sees a
#: protocol registered later (``devices.registry.register_protocol``).
SIM_PROTOCOLS = tuple(simulated_protocols())
#: Older spellings of simulator protocols, still accepted in configuration files (as
#: registered at load time; validation asks the registry).
SIM_PROTOCOL_ALIASES = protocol_aliases()
SIM_PROFILES = ("routine", "hypertensive-surge")
#: A nurse watches at most this many chairs on one console (the overview grid is 4 x 4).
MAX_CHAIRS = 16


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key."""


def sim_protocols() -> tuple[str, ...]:
    """The protocols a simulated chair may speak: the registry's, in its order."""
    return tuple(simulated_protocols())


def _sim_protocol(name: str, where: str) -> str:
    """``name`` (or an older spelling of it) checked against the registered protocols."""
    name = protocol_aliases().get(name, name)
    if name not in sim_protocols():
        raise ConfigError(f"{where} {name!r} is not one of {', '.join(sim_protocols())}")
    return name


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


#: Tables whose keys their own parsers check ([alarms], [[limits]], [[chairs]]).
CHECKED_BY_PARSER = frozenset({"alarms", "limits", "chairs"})


def _nearest(name: str, known: Iterable[str]) -> str:
    """The hint ``(did you mean 'x'?)`` for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _refuse_unknown(user: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Refuse a section or key of the user's file that the console does not know.

    Why: a typo was silently ignored, and ``[storage] dburl = ...`` (the key is ``db_url``)
    quietly sent the clinic's records to a local SQLite file (issue 15).  Every option is in
    the default file, so its tables are the schema of the simple sections.
    """
    for section, table in user.items():
        if section in CHECKED_BY_PARSER:
            continue
        if section not in defaults:
            known = {*defaults, *CHECKED_BY_PARSER}
            raise ConfigError(f"unknown section [{section}]{_nearest(section, known)}")
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{section}] must be a table, got {type(table).__name__}")
        for key in table:
            if key not in defaults[section]:
                hint = _nearest(key, defaults[section])
                raise ConfigError(f"[{section}] unknown key {key!r}{hint}")


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _get(table: Mapping[str, Any], section: str, key: str, kind: type, default: Any) -> Any:
    value = table.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(
            f"[{section}] {key} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


LIMIT_KEYS = frozenset(
    {
        "metric",
        "direction",
        "limit",
        "inclusive",
        "priority",
        "unit",
        "delay_s",
        "confirm",
        "confirmed_priority",
    }
)


def _parse_limits(items: Any) -> AlarmPolicy:
    if not isinstance(items, list):
        raise ConfigError("[[limits]] must be an array of tables")
    rules: list[LimitRule] = []
    for i, item in enumerate(items):
        where = f"limits[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where} must be a table")
        unknown = set(item) - LIMIT_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            metric = Metric(str(item.get("metric", "")))
        except ValueError:
            known = ", ".join(m.value for m in Metric)
            raise ConfigError(
                f"{where}.metric {item.get('metric')!r} is not one of {known}"
            ) from None
        try:
            direction = Direction(str(item.get("direction", "")))
        except ValueError:
            raise ConfigError(f"{where}.direction must be 'high' or 'low'") from None
        limit = item.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise ConfigError(f"{where}.limit must be a number, got {limit!r}")
        try:
            priority = Priority.parse(str(item.get("priority", "")))
        except ValueError as err:
            raise ConfigError(f"{where}.priority: {err}") from None
        inclusive = item.get("inclusive", True)
        if not isinstance(inclusive, bool):
            raise ConfigError(f"{where}.inclusive must be true or false")
        unit = item.get("unit")
        if unit is not None:
            if not isinstance(unit, str):
                raise ConfigError(f"{where}.unit must be a string, got {unit!r}")
            try:
                check_unit(metric, unit)
            except LimitError as err:
                raise ConfigError(f"{where}.unit: {err}") from None
        delay_s = item.get("delay_s", 0)
        if isinstance(delay_s, bool) or not isinstance(delay_s, int | float):
            raise ConfigError(f"{where}.delay_s must be a number of seconds, got {delay_s!r}")
        confirm = item.get("confirm", False)
        if not isinstance(confirm, bool):
            raise ConfigError(f"{where}.confirm must be true or false")
        confirmed_priority: Priority | None = None
        if "confirmed_priority" in item:
            try:
                confirmed_priority = Priority.parse(str(item["confirmed_priority"]))
            except ValueError as err:
                raise ConfigError(f"{where}.confirmed_priority: {err}") from None
        rule = LimitRule(
            metric,
            direction,
            float(limit),
            priority,
            inclusive,
            delay_s=float(delay_s),
            confirm=confirm,
            confirmed_priority=confirmed_priority,
        )
        try:
            rule.validate()
        except LimitError as err:
            raise ConfigError(f"{where}: {err}") from None
        rules.append(rule)
    try:
        return AlarmPolicy(tuple(rules))
    except ValueError as err:
        raise ConfigError(f"[[limits]]: {err}") from None


TIMING_KEYS: dict[str, type] = {
    "nibp_confirm_window_s": float,
    "escalate_unanswered_s": float,
    "audio_pause_s": float,
    "latch_high": bool,
    "comm_lost_after_s": float,
    "comm_lost_escalate_s": float,
    "sensor_off_after_s": float,
    "nibp_overdue_grace_s": float,
    "nibp_overdue_recovery_s": float,
}
BASELINE_KEYS = frozenset({"sbp_rise_mmhg", "dbp_rise_mmhg", "priority", "confirm"})


def _parse_alarms(table: Any, policy: AlarmPolicy) -> tuple[ThresholdProfile, float]:
    """The ``[alarms]`` table: timings, baseline rules and the monitor's NIBP cycle."""
    if not isinstance(table, Mapping):
        raise ConfigError("[alarms] must be a table")
    unknown = set(table) - set(TIMING_KEYS) - {"nibp_interval_s", "baseline", "profile_name"}
    if unknown:
        raise ConfigError(f"[alarms]: unknown key(s) {', '.join(sorted(unknown))}")
    defaults = AlarmTimings()
    values = {
        key: _get(table, "alarms", key, kind, getattr(defaults, key))
        for key, kind in TIMING_KEYS.items()
    }
    try:
        timings = AlarmTimings(**values)
    except LimitError as err:
        raise ConfigError(f"[alarms] {err}") from None
    nibp_interval_s = _get(table, "alarms", "nibp_interval_s", float, 300.0)
    if not 30 <= nibp_interval_s <= 3600:
        raise ConfigError(f"[alarms] nibp_interval_s must be 30-3600 s, got {nibp_interval_s:g}")
    base = table.get("baseline", {})
    if not isinstance(base, Mapping):
        raise ConfigError("[alarms.baseline] must be a table")
    unknown = set(base) - BASELINE_KEYS
    if unknown:
        raise ConfigError(f"[alarms.baseline]: unknown key(s) {', '.join(sorted(unknown))}")
    by_metric = {r.metric: r for r in DEFAULT_BASELINE_RULES}
    try:
        priority = Priority.parse(
            _get(
                base, "alarms.baseline", "priority", str, by_metric[Metric.NIBP_SYS].priority.label
            )
        )
    except ValueError as err:
        raise ConfigError(f"[alarms.baseline] priority: {err}") from None
    confirm = _get(base, "alarms.baseline", "confirm", bool, True)
    rules: list[BaselineRule] = []
    for metric, key in ((Metric.NIBP_SYS, "sbp_rise_mmhg"), (Metric.NIBP_DIA, "dbp_rise_mmhg")):
        rise = _get(base, "alarms.baseline", key, float, by_metric[metric].rise)
        if rise == 0:
            continue  # 0 switches this baseline-relative rule off
        rule = BaselineRule(metric, rise, priority, confirm)
        try:
            rule.validate()
        except LimitError as err:
            raise ConfigError(f"[alarms.baseline] {key}: {err}") from None
        rules.append(rule)
    name = _get(table, "alarms", "profile_name", str, "clinic default")
    return ThresholdProfile(name, policy, timings, tuple(rules)), nibp_interval_s


CHAIR_DEVICE_KEYS: dict[str, type] = {
    "kind": str,
    "url": str,
    "baud": int,
    "rtscts": bool,
    "interval_s": int,
    "push_interval_s": float,
    "hl7_accept": list,
    "hl7_location": str,
}
CHAIR_SIM_KEYS: dict[str, type] = {
    "protocol": str,
    "profile": str,
    "scenario": str,
    "seed": int,
    "nibp_interval_s": float,
}


_HL7_TYPE = re.compile(r"[A-Z0-9]{3}(\^[A-Z0-9]{3})?")


def _hl7_accept(value: list[Any], where: str) -> tuple[str, ...]:
    """An ``hl7_accept`` list checked: MSH-9 types such as ``ORU^R01`` (or ``ORU``: any)."""
    if not value or not all(isinstance(v, str) and _HL7_TYPE.fullmatch(v) for v in value):
        raise ConfigError(
            f'{where} must be a non-empty list of HL7 message types like "ORU^R01", got {value!r}'
        )
    return tuple(value)


def _chair_value(item: Mapping[str, Any], where: str, key: str, kind: type, default: Any) -> Any:
    """``item[key]`` checked against ``kind``; the message names ``chairs[i].key``."""
    value = item.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(
            f"{where}.{key} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _parse_chair(
    item: Any, where: str, index: int, device_kinds: list[str], sim_defaults: SimulatorConfig
) -> ChairConfig:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = set(item) - {"name"} - set(CHAIR_DEVICE_KEYS) - set(CHAIR_SIM_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "name" not in item:
        raise ConfigError(f"{where}.name is required")
    name = _chair_value(item, where, "name", str, "").strip()
    if not name:
        raise ConfigError(f"{where}.name must not be empty")
    dev = DeviceConfig()
    values: dict[str, Any] = {
        k: _chair_value(item, where, k, t, list(dev.hl7_accept) if t is list else getattr(dev, k))
        for k, t in CHAIR_DEVICE_KEYS.items()
    }
    values["hl7_accept"] = _hl7_accept(values["hl7_accept"], f"{where}.hl7_accept")
    values["kind"] = canonical_kind(values["kind"])
    device = DeviceConfig(**values)
    if not device.simulated and device.kind not in device_kinds:
        raise ConfigError(
            f"{where}.kind {device.kind!r} is not one of {', '.join([SIM_KIND, *device_kinds])}"
        )
    if device.baud < 0:
        raise ConfigError(f"{where}.baud must be 0 (driver default) or positive, got {device.baud}")
    if not 1 <= device.interval_s <= 60:
        raise ConfigError(f"{where}.interval_s must be 1-60 seconds, got {device.interval_s}")
    if not 1 <= device.push_interval_s <= 600:
        raise ConfigError(
            f"{where}.push_interval_s must be 1-600 s, got {device.push_interval_s:g}"
        )
    if not device.simulated and not device.url:
        raise ConfigError(f"{where}.url is required for device kind {device.kind!r}")
    if device.simulated and device.url:
        raise ConfigError(f"{where}.url is only for a real device; kind is {SIM_KIND!r}")
    sim_keys = set(item) & set(CHAIR_SIM_KEYS)
    if not device.simulated and sim_keys:
        raise ConfigError(
            f"{where}: {', '.join(sorted(sim_keys))} only apply to kind {SIM_KIND!r}, "
            f"not {device.kind!r}"
        )
    # Each simulated chair gets its own patient: the seed defaults to [simulator] seed + index.
    defaults = replace(sim_defaults, seed=sim_defaults.seed + index)
    values = {
        k: _chair_value(item, where, k, t, getattr(defaults, k)) for k, t in CHAIR_SIM_KEYS.items()
    }
    values["protocol"] = _sim_protocol(values["protocol"], f"{where}.protocol")
    simulator = replace(defaults, **values)
    if simulator.profile not in SIM_PROFILES:
        raise ConfigError(
            f"{where}.profile {simulator.profile!r} is not one of {', '.join(SIM_PROFILES)}"
        )
    if simulator.scenario and "scenario" in item:
        from devices.simulator.scenario import ScenarioError, load_scenario

        try:
            load_scenario(simulator.scenario)
        except ScenarioError as err:
            raise ConfigError(f"{where}.scenario: {err}") from None
    if not 30 <= simulator.nibp_interval_s <= 3600:
        raise ConfigError(
            f"{where}.nibp_interval_s must be 30-3600 s, got {simulator.nibp_interval_s:g}"
        )
    return ChairConfig(name, device, simulator)


def _parse_chairs(items: Any, sim_defaults: SimulatorConfig) -> tuple[ChairConfig, ...]:
    """The optional ``[[chairs]]`` array (empty: the single-chair tables are used).

    Simulated chairs take unset simulator options from the validated ``[simulator]`` table, so
    one edit there (profile, timeline, scenario) applies to every simulated chair; the clock
    speed is always the global ``[simulator] speed``.  A real chair inherits nothing from
    ``[device]``: each names its own port, so one cable is never silently shared.
    """
    if not isinstance(items, list):
        raise ConfigError("[[chairs]] must be an array of tables")
    if len(items) > MAX_CHAIRS:
        raise ConfigError(f"[[chairs]] lists {len(items)} chairs; at most {MAX_CHAIRS}")
    if not items:
        return ()
    kinds = list_kinds()
    chairs: list[ChairConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"chairs[{i}]"
        chair = _parse_chair(item, where, i, kinds, sim_defaults)
        key = chair.name.casefold()
        if key in seen:
            raise ConfigError(
                f"{where}.name {chair.name!r} is already used by chairs[{seen[key]}]; "
                "chair names must be unique"
            )
        seen[key] = i
        chairs.append(chair)
    return tuple(chairs)


def simulated_chairs(
    count: int, simulator: SimulatorConfig, *, protocols: tuple[str, ...] | None = None
) -> tuple[ChairConfig, ...]:
    """``count`` simulated chairs for a demo: "Chair 1".."Chair N", seeds seed..seed+N-1.

    Protocols are given round-robin (default: every registered one), so a demo exercises
    every codec side by side.

    Raises:
        ConfigError: ``count`` is not 1-16.
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
) -> Settings:
    """Build :class:`Settings` from defaults, a user file, the environment and CLI overrides.

    Args:
        config_file: optional user TOML file with any subset of the default file's keys.
        overrides: CLI values as ``{"section.key": value}``; None values are ignored.
        environ: environment (``os.environ`` by default); ``INFUSION_CONSOLE_DB_URL`` sets the DB.

    Raises:
        ConfigError: any invalid value, naming its key.
    """
    environ = os.environ if environ is None else environ
    raw = _read_toml(DEFAULT_CONFIG)
    if config_file is not None:
        user = _read_toml(config_file)
        _refuse_unknown(user, raw)
        if "limits" in user:  # a user limit list replaces the defaults whole, never half-merges
            raw.pop("limits", None)
        raw = _merge(raw, user)
    if environ.get(ENV_DB_URL):
        raw.setdefault("storage", {})["db_url"] = environ[ENV_DB_URL]
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        raw.setdefault(section, {})[key] = value

    storage, chair = raw.get("storage", {}), raw.get("chair", {})
    dev, sim = raw.get("device", {}), raw.get("simulator", {})
    device = DeviceConfig(
        kind=canonical_kind(_get(dev, "device", "kind", str, SIM_KIND)),
        url=_get(dev, "device", "url", str, ""),
        baud=_get(dev, "device", "baud", int, 0),
        rtscts=_get(dev, "device", "rtscts", bool, False),
        interval_s=_get(dev, "device", "interval_s", int, 1),
        push_interval_s=_get(dev, "device", "push_interval_s", float, 10.0),
        hl7_accept=_hl7_accept(
            _get(dev, "device", "hl7_accept", list, ["ORU^R01"]), "[device] hl7_accept"
        ),
        hl7_location=_get(dev, "device", "hl7_location", str, ""),
    )
    if device.baud < 0:
        raise ConfigError(
            f"[device] baud must be 0 (driver default) or positive, got {device.baud}"
        )
    if not 1 <= device.interval_s <= 60:
        raise ConfigError(f"[device] interval_s must be 1-60 seconds, got {device.interval_s}")
    if not 1 <= device.push_interval_s <= 600:
        raise ConfigError(
            f"[device] push_interval_s must be 1-600 s, got {device.push_interval_s:g}"
        )
    if not device.simulated:
        kinds = list_kinds()
        if device.kind not in kinds:
            raise ConfigError(
                f"[device] kind {device.kind!r} is not one of {', '.join([SIM_KIND, *kinds])}"
            )
    if not device.simulated and not device.url:
        raise ConfigError(f"[device] url is required for device kind {device.kind!r}")
    simulator = SimulatorConfig(
        protocol=_sim_protocol(
            _get(sim, "simulator", "protocol", str, "datex"), "[simulator] protocol"
        ),
        profile=_get(sim, "simulator", "profile", str, "routine"),
        scenario=_get(sim, "simulator", "scenario", str, ""),
        seed=_get(sim, "simulator", "seed", int, 1),
        speed=_get(sim, "simulator", "speed", float, 1.0),
        nibp_interval_s=_get(sim, "simulator", "nibp_interval_s", float, 300.0),
        baseline_min=_get(sim, "simulator", "baseline_min", float, 5.0),
        infusion_min=_get(sim, "simulator", "infusion_min", float, 40.0),
        observation_min=_get(sim, "simulator", "observation_min", float, 30.0),
    )
    if simulator.scenario:
        from devices.simulator.scenario import ScenarioError, load_scenario

        try:
            load_scenario(simulator.scenario)
        except ScenarioError as err:
            raise ConfigError(f"[simulator] scenario: {err}") from None
    if simulator.profile not in SIM_PROFILES:
        raise ConfigError(
            f"[simulator] profile {simulator.profile!r} is not one of {', '.join(SIM_PROFILES)}"
        )
    if not 0 < simulator.speed <= 1000:
        raise ConfigError(f"[simulator] speed must be in (0, 1000], got {simulator.speed}")
    if not 30 <= simulator.nibp_interval_s <= 3600:
        raise ConfigError(
            f"[simulator] nibp_interval_s must be 30-3600 s, got {simulator.nibp_interval_s}"
        )
    policy = _parse_limits(raw.get("limits", []))
    profile, nibp_interval_s = _parse_alarms(raw.get("alarms", {}), policy)
    chairs = _parse_chairs(raw.get("chairs", []), simulator)
    db_url = _get(storage, "storage", "db_url", str, "") or default_db_url()
    observations = _parse_observations(raw.get("observations", {}))
    return Settings(
        db_url=db_url,
        chair_name=_get(chair, "chair", "name", str, "Chair 1"),
        device=device,
        simulator=simulator,
        chairs=chairs,
        alarm_policy=policy,
        alarm_profile=profile,
        alarm_nibp_interval_s=nibp_interval_s,
        observations=observations,
    )


def _parse_observations(table: Mapping[str, Any]) -> ObservationSchedule:
    """The ``[observations]`` section: scales, overdue window and time points."""
    scales = _get(table, "observations", "scales", list, [])
    if not all(isinstance(s, str) for s in scales):
        raise ConfigError(f"[observations] scales must be a list of texts, got {scales!r}")
    try:
        return ObservationSchedule(
            points=parse_points(table.get("points"), "[observations] points"),
            scales=tuple(scales),
            overdue_after_min=_get(table, "observations", "overdue_after_min", float, 5.0),
        )
    except ValueError as err:
        raise ConfigError(f"[observations] {err}".replace("] [observations]", "]")) from None


def with_db(settings: Settings, db_url: str) -> Settings:
    """Copy of ``settings`` using another database."""
    return replace(settings, db_url=db_url)
