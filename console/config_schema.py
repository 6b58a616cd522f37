"""The configuration's schema: one pydantic model per table of the TOML file.

Why a schema: the hand-written checks (a type test per key, a list of known keys per table,
another list for ``[alarms]``, another for ``[[chairs]]``) drifted apart, and each table
reported an unknown key in its own words (issue 15).  Here every key is declared once, with
its TOML type, its default and its meaning; the user's file, the environment and the
command-line options are merged and then checked by the same models, so they get the same
messages (:mod:`console.config_messages` turns pydantic's errors into one line naming the
key), and the README's reference table is printed from the same fields
(:mod:`console.config_reference`).

The models only check; :func:`console.config.load` turns a validated :class:`ConsoleFile`
into the frozen dataclasses the rest of the console uses.  Types are strict where the TOML
type matters: ``seed = "3"`` or ``rtscts = 1`` is refused, not guessed (an integer is still
accepted for a float, as TOML writes ``speed = 60``).  Clinical rules (limit ranges, tiers,
timings, baseline rises) are the domain's own checks, called from validators, so a file is
held to exactly the rules the alarm engine enforces.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from console.domain.alarm_profiles import AlarmTimings
from console.domain.alarm_rules import (
    AlarmPolicy,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    check_unit,
)
from console.domain.observations import (
    TIMED_SCALES,
    UNSCHEDULED,
    Anchor,
    ObservationSchedule,
    TimePoint,
)
from console.storage.engine import StorageConfigError, parse_url
from devices.model import Metric
from devices.registry import canonical_kind, list_kinds, protocol_aliases, simulated_protocols

SIM_KIND = "sim"
SIM_PROFILES = ("routine", "hypertensive-surge")
#: A nurse watches at most this many chairs on one console (the overview: 8 x 4 compact tiles).
MAX_CHAIRS = 32
_HL7_TYPE = re.compile(r"[A-Z0-9]{3}(\^[A-Z0-9]{3})?")


class ConfigError(ValueError):
    """A configuration value is wrong; the message is one line naming the key."""


class FieldError(ValueError):
    """A rule broken inside a validator, said about one key of the table being checked.

    ``at`` is the key (or a path of keys and indexes) below the validator's table; empty: the
    table itself.  ``sentence``: the message is a sentence of its own (the domain's
    :class:`LimitError` text), written after a colon rather than straight after the key.
    """

    def __init__(self, message: str, *at: str | int, sentence: bool = False) -> None:
        super().__init__(message)
        self.at = at
        self.sentence = sentence


def sim_protocols() -> tuple[str, ...]:
    """The protocols a simulated chair may speak: the registry's, in its order (a protocol
    registered after start-up counts too)."""
    return tuple(simulated_protocols())


def check_protocol(name: str) -> str:
    """``name`` (or an older spelling of it) as a registered simulator protocol."""
    name = protocol_aliases().get(name, name)
    if name not in sim_protocols():
        raise FieldError(f"{name!r} is not one of {', '.join(sim_protocols())}")
    return name


def check_profile(name: str) -> str:
    """A built-in simulated patient."""
    if name not in SIM_PROFILES:
        raise FieldError(f"{name!r} is not one of {', '.join(SIM_PROFILES)}")
    return name


def check_scenario(name: str) -> str:
    """A scenario that loads (built-in name or .toml file); empty: none."""
    if name:
        from devices.simulator.scenario import ScenarioError, load_scenario

        try:
            load_scenario(name)
        except ScenarioError as err:
            raise FieldError(str(err), sentence=True) from None
    return name


def within(lo: float, hi: float, unit: str) -> AfterValidator:
    """A range check saying the range, e.g. ``must be 1-60 seconds, got 0``."""

    def check(value: float) -> float:
        if not lo <= value <= hi:
            raise FieldError(f"must be {lo:g}-{hi:g} {unit}, got {value:g}")
        return value

    return AfterValidator(check)


def check_priority(text: str) -> str:
    """``low``, ``medium`` or ``high`` (as :meth:`Priority.parse` reads it)."""
    try:
        Priority.parse(text)
    except ValueError as err:
        raise FieldError(str(err), sentence=True) from None
    return text


def check_name(name: str) -> str:
    """A chair name: shown and stored, so never blank."""
    if not name.strip():
        raise FieldError("must not be empty")
    return name.strip()


ProtocolName = Annotated[str, AfterValidator(check_protocol)]
ProfileName = Annotated[str, AfterValidator(check_profile)]
ScenarioName = Annotated[str, AfterValidator(check_scenario)]
#: An automatic NIBP cycle a monitor offers: 30 s to an hour.
NibpCycle = Annotated[float, within(30, 3600, "s")]
Minutes = Annotated[float, within(0, 1440, "minutes")]
PriorityName = Annotated[str, AfterValidator(check_priority)]
ChairName = Annotated[str, AfterValidator(check_name)]


class Table(BaseModel):
    """A TOML table: every key declared, TOML types kept, no key unknown."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
    #: Where the table is in the file, for the reference (``[device]``, ``[[chairs]]``).
    HEADING: ClassVar[str] = ""


class StorageTable(Table):
    """``[storage]``: where the records go."""

    HEADING = "[storage]"
    db_url: str = Field(
        default="",
        description="SQLAlchemy URL of the database. Empty: an embedded SQLite file in the "
        "per-user data directory; a clinic server: "
        "`postgresql+psycopg://user:password@host:5432/infusion`. "
        "The environment variable `INFUSION_CONSOLE_DB_URL` and `--db` override it.",
    )

    @field_validator("db_url")
    @classmethod
    def _url(cls, url: str) -> str:
        """Parsed now, so a typo is refused at start-up (the message masks the password)."""
        if url:
            try:
                parse_url(url)
            except StorageConfigError as err:
                raise FieldError(str(err), sentence=True) from None
        return url


class ChairTable(Table):
    """``[chair]``: the single chair's name."""

    HEADING = "[chair]"
    name: ChairName = Field(default="Chair 1", description="Chair name shown on screen and stored.")


class DeviceFields(Table):
    """How a chair reaches its monitor: ``[device]`` and the same keys in ``[[chairs]]``."""

    kind: str = Field(
        default=SIM_KIND,
        description='`"sim"` (the built-in simulated monitor) or a driver kind: '
        "`ge-datex`, `philips-intellivue`, `masimo-radical`, `hl7-mllp` "
        "(a protocol's name such as `datex` is accepted).",
    )
    url: str = Field(
        default="",
        description="pyserial URL of a real monitor (required for a driver kind): "
        "`/dev/ttyUSB0`, `COM3`, `socket://host:port`, `spy:///dev/ttyUSB0`, "
        "`rfc2217://host:port`.",
    )
    baud: int = Field(default=0, description="Baud rate; 0: the driver's default.")
    rtscts: bool = Field(default=False, description="RTS/CTS hardware handshake.")
    interval_s: Annotated[int, within(1, 60, "seconds")] = Field(
        default=1, description="GE Datex DRI: seconds between displayed-values records (1-60)."
    )
    push_interval_s: Annotated[float, within(1, 600, "s")] = Field(
        default=10.0,
        description="HL7 gateway: seconds between its pushes (1-600); the link counts as lost "
        "after 2 x this + 10 s of silence.",
    )
    hl7_accept: tuple[str, ...] = Field(
        default=("ORU^R01",),
        description="HL7 gateway: message types (MSH-9) whose observations are applied; "
        "others are answered AR.",
        json_schema_extra={"expected": "list of strings"},
    )
    hl7_location: str = Field(
        default="",
        description="HL7 gateway: this chair's bed as PV1-3 `unit^room^bed` (a part left "
        "empty matches any). Empty: every message is this chair's.",
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        kind = canonical_kind(kind)
        if kind != SIM_KIND and kind not in list_kinds():
            raise FieldError(f"{kind!r} is not one of {', '.join([SIM_KIND, *list_kinds()])}")
        return kind

    @field_validator("baud")
    @classmethod
    def _baud(cls, baud: int) -> int:
        if baud < 0:
            raise FieldError(f"must be 0 (driver default) or positive, got {baud}")
        return baud

    @field_validator("hl7_accept", mode="before")
    @classmethod
    def _hl7_types(cls, value: Any) -> tuple[str, ...]:
        """MSH-9 types such as ``ORU^R01`` (or ``ORU``: any trigger of it)."""
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(isinstance(v, str) and _HL7_TYPE.fullmatch(v) for v in value)
        ):
            raise FieldError(
                f'must be a non-empty list of HL7 message types like "ORU^R01", got {value!r}'
            )
        return tuple(value)

    @property
    def simulated(self) -> bool:
        """True for the built-in simulator."""
        return self.kind == SIM_KIND

    @model_validator(mode="after")
    def _url_for_a_real_device(self) -> Self:
        if not self.simulated and not self.url:
            raise FieldError(f"is required for device kind {self.kind!r}", "url")
        if self.simulated and self.url:
            raise FieldError(f"is only for a real device; kind is {SIM_KIND!r}", "url")
        return self


class DeviceTable(DeviceFields):
    """``[device]``: the single chair's monitor."""

    HEADING = "[device]"


class SimulatorTable(Table):
    """``[simulator]``: the built-in simulated monitor and patient."""

    HEADING = "[simulator]"
    protocol: ProtocolName = Field(
        default="datex",
        description="Wire protocol of the simulated monitor: `datex`, `intellivue`, "
        "`masimo`, `hl7` (the real driver's codec).",
    )
    profile: ProfileName = Field(
        default="routine", description="Simulated patient: `routine` or `hypertensive-surge`."
    )
    scenario: ScenarioName = Field(
        default="",
        description="A scripted scenario instead: a built-in name such as `bradycardia` or a "
        ".toml path. Empty: the profile on the timeline below.",
    )
    seed: int = Field(default=1, description="Same seed, same patient, same numbers.")
    speed: float = Field(
        default=1.0,
        description="Time acceleration, (0, 1000]: 1 = real time, 60 = a minute a second.",
    )
    nibp_interval_s: NibpCycle = Field(
        default=300.0, description="Automatic NIBP cuff cycle, seconds (30-3600)."
    )
    baseline_min: Minutes = Field(default=5.0, description="Timeline: pre-dose baseline, minutes.")
    infusion_min: Minutes = Field(default=40.0, description="Timeline: infusion, minutes.")
    observation_min: Minutes = Field(default=30.0, description="Timeline: observation, minutes.")

    @field_validator("speed")
    @classmethod
    def _speed(cls, speed: float) -> float:
        if not 0 < speed <= 1000:
            raise FieldError(f"must be in (0, 1000], got {speed:g}")
        return speed


class ChairEntry(DeviceFields):
    """One ``[[chairs]]`` entry: a name, a monitor, and for a simulated chair its patient.

    Simulator keys left out come from ``[simulator]`` (the seed: ``[simulator] seed`` + the
    entry's position), which :func:`console.config.load` fills in; None means "not given".
    """

    HEADING = "[[chairs]]"
    name: ChairName = Field(description="Shown and stored with every session; required, unique.")
    protocol: ProtocolName | None = Field(
        default=None, description="Simulated chairs only; default `[simulator] protocol`."
    )
    profile: ProfileName | None = Field(
        default=None, description="Simulated chairs only; default `[simulator] profile`."
    )
    scenario: ScenarioName | None = Field(
        default=None, description="Simulated chairs only; default `[simulator] scenario`."
    )
    seed: int | None = Field(
        default=None,
        description="Simulated chairs only; default `[simulator] seed` + the entry's position "
        "(0, 1, ...), so every chair has its own patient.",
    )
    nibp_interval_s: NibpCycle | None = Field(
        default=None, description="Simulated chairs only; default `[simulator] nibp_interval_s`."
    )
    SIM_KEYS: ClassVar[tuple[str, ...]] = (
        "protocol",
        "profile",
        "scenario",
        "seed",
        "nibp_interval_s",
    )

    @model_validator(mode="after")
    def _simulator_keys_for_sim_only(self) -> Self:
        given = sorted(set(self.SIM_KEYS) & self.model_fields_set)
        if not self.simulated and given:
            raise FieldError(
                f"{', '.join(given)} only apply to kind {SIM_KIND!r}, not {self.kind!r}",
                sentence=True,
            )
        return self


class LimitEntry(Table):
    """One ``[[limits]]`` entry: a limit tier (clinical.md b2)."""

    HEADING = "[[limits]]"
    metric: str = Field(
        description="`HR`, `PR`, `SPO2`, `RR`, `NIBP_SYS`, `NIBP_DIA`, `NIBP_MEAN`, `TEMP`."
    )
    direction: str = Field(description="`high` or `low`: the abnormal side.")
    limit: float = Field(
        description="The threshold, in the metric's unit.",
        json_schema_extra={"expected": "a number"},
    )
    inclusive: bool = Field(default=True, description="A value equal to the limit is abnormal.")
    priority: PriorityName = Field(
        description="`low`, `medium` or `high`; tiers on one side must grow more extreme."
    )
    unit: str | None = Field(
        default=None, description="The unit the limit is written in; must be the metric's own."
    )
    delay_s: float = Field(
        default=0.0,
        description="Continuous metrics: seconds the violation must last (0-600).",
        json_schema_extra={"expected": "a number of seconds"},
    )
    confirm: bool = Field(
        default=False, description="NIBP only: confirm-by-repeat within `nibp_confirm_window_s`."
    )
    confirmed_priority: PriorityName | None = Field(
        default=None, description="Priority once a repeat confirms it (default: unchanged)."
    )

    @field_validator("metric")
    @classmethod
    def _metric(cls, name: str) -> str:
        if name not in {m.value for m in Metric}:
            raise FieldError(f"{name!r} is not one of {', '.join(m.value for m in Metric)}")
        return name

    @field_validator("direction")
    @classmethod
    def _direction(cls, side: str) -> str:
        if side not in {d.value for d in Direction}:
            raise FieldError(f"must be 'high' or 'low', got {side!r}")
        return side

    def rule(self) -> LimitRule:
        """The domain's limit tier (built from checked fields)."""
        return LimitRule(
            Metric(self.metric),
            Direction(self.direction),
            float(self.limit),
            Priority.parse(self.priority),
            self.inclusive,
            delay_s=float(self.delay_s),
            confirm=self.confirm,
            confirmed_priority=(
                None if self.confirmed_priority is None else Priority.parse(self.confirmed_priority)
            ),
        )

    @model_validator(mode="after")
    def _clinical(self) -> Self:
        try:
            check_unit(Metric(self.metric), self.unit)
        except LimitError as err:
            raise FieldError(str(err), "unit", sentence=True) from None
        try:
            self.rule().validate()
        except LimitError as err:
            raise FieldError(str(err), sentence=True) from None
        return self


class BaselineTable(Table):
    """``[alarms.baseline]``: limits relative to the pre-dose baseline (clinical.md b2)."""

    HEADING = "[alarms.baseline]"
    sbp_rise_mmhg: float = Field(
        default=40.0,
        description="Systolic rise over baseline that alarms; 0: off, else 5-100 mmHg.",
    )
    dbp_rise_mmhg: float = Field(
        default=25.0,
        description="Diastolic rise over baseline that alarms; 0: off, else 5-100 mmHg.",
    )
    priority: PriorityName = Field(
        default="medium", description="Priority on the first reading over the rise."
    )
    confirm: bool = Field(default=True, description="Ask for a repeat NIBP reading to confirm it.")

    def rules(self) -> tuple[BaselineRule, ...]:
        """The baseline-relative rules switched on (a rise of 0 is off)."""
        priority = Priority.parse(self.priority)
        return tuple(
            BaselineRule(metric, rise, priority, self.confirm)
            for metric, rise in (
                (Metric.NIBP_SYS, self.sbp_rise_mmhg),
                (Metric.NIBP_DIA, self.dbp_rise_mmhg),
            )
            if rise != 0
        )

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        keys = {Metric.NIBP_SYS: "sbp_rise_mmhg", Metric.NIBP_DIA: "dbp_rise_mmhg"}
        for rule in self.rules():
            try:
                rule.validate()
            except LimitError as err:
                raise FieldError(str(err), keys[rule.metric], sentence=True) from None
        return self


class AlarmsTable(Table):
    """``[alarms]``: alarm behaviour (clinical.md b2, b3, c4-c7)."""

    HEADING = "[alarms]"
    profile_name: str = Field(
        default="clinic default", description="Name of this threshold profile, stored with changes."
    )
    nibp_confirm_window_s: float = Field(
        default=300.0,
        description="A repeat NIBP within this confirms a reading over a limit (120-300).",
    )
    escalate_unanswered_s: float = Field(
        default=120.0, description="An unacknowledged medium alarm becomes high after this; 0: off."
    )
    audio_pause_s: float = Field(
        default=120.0, description="Default length of audio paused (10-900)."
    )
    latch_high: bool = Field(
        default=True, description="High-priority alarms stay shown until acknowledged."
    )
    comm_lost_after_s: float = Field(
        default=10.0, description='No data this long: "communication lost", medium (5-120).'
    )
    comm_lost_escalate_s: float = Field(
        default=60.0, description="... and high after this long during the infusion (10-900)."
    )
    sensor_off_after_s: float = Field(
        default=10.0, description='SpO2 invalid this long: "sensor off / no signal" (0-120).'
    )
    nibp_overdue_grace_s: float = Field(
        default=120.0, description='No NIBP for the cycle + this: "NIBP overdue" (0-1800).'
    )
    nibp_overdue_recovery_s: float = Field(
        default=1800.0,
        description="NIBP overdue is watched this long after the infusion (0-14400).",
    )
    nibp_interval_s: NibpCycle = Field(
        default=300.0, description="A real monitor's automatic NIBP cycle, seconds (30-3600)."
    )
    baseline: BaselineTable = Field(
        default_factory=BaselineTable, description="The `[alarms.baseline]` table."
    )
    TIMINGS: ClassVar[tuple[str, ...]] = tuple(f.name for f in fields(AlarmTimings))

    def timings(self) -> AlarmTimings:
        """The domain's timings (raises LimitError outside their ranges)."""
        return AlarmTimings(**{name: getattr(self, name) for name in self.TIMINGS})

    @model_validator(mode="after")
    def _timings_in_range(self) -> Self:
        try:
            self.timings()
        except LimitError as err:
            raise FieldError(str(err)) from None
        return self


_DEFAULT_SCHEDULE = ObservationSchedule()


class ObservationPoint(Table):
    """``[[observations.points]]``: one time point of the timed scores (issue 17)."""

    HEADING = "[[observations.points]]"
    label: str = Field(description="Shown on the prompt and stored with each score; unique.")
    anchor: str = Field(
        description="What the point counts from: `session_start`, `infusion_start`, "
        "`infusion_end` (the pump stopped) or `observation_end` (pre-discharge)."
    )
    offset_min: Annotated[float, within(-240, 480, "min")] = Field(
        default=0.0, description="Minutes after (negative: before) the anchor."
    )

    @field_validator("label")
    @classmethod
    def _label(cls, label: str) -> str:
        if not label.strip():
            raise FieldError("must not be empty")
        if label.strip() == UNSCHEDULED:
            raise FieldError(f"{UNSCHEDULED!r} is reserved for scores outside the schedule")
        return label.strip()

    @field_validator("anchor")
    @classmethod
    def _anchor(cls, anchor: str) -> str:
        names = [a.value for a in Anchor]
        if anchor not in names:
            raise FieldError(f"{anchor!r} is not one of {', '.join(names)}")
        return anchor

    def point(self) -> TimePoint:
        """The domain's time point."""
        return TimePoint(self.label, Anchor(self.anchor), float(self.offset_min))


class ObservationsTable(Table):
    """``[observations]``: the timed MOAA/S, CADSS-6 and nausea scores (issue 17)."""

    HEADING = "[observations]"
    scales: tuple[str, ...] = Field(
        default=_DEFAULT_SCHEDULE.scales,
        description=f"Scales prompted at every time point: some of {', '.join(TIMED_SCALES)}.",
    )
    overdue_after_min: Annotated[float, within(1, 120, "min")] = Field(
        default=_DEFAULT_SCHEDULE.overdue_after_min,
        description="A point not scored this long after it is due shows as overdue.",
    )
    points: tuple[ObservationPoint, ...] = Field(
        default=tuple(
            ObservationPoint(label=p.label, anchor=p.anchor.value, offset_min=p.offset_min)
            for p in _DEFAULT_SCHEDULE.points
        ),
        description="The time points, in order; a user file's list replaces this one whole.",
    )

    @field_validator("scales", "points", mode="before")
    @classmethod
    def _array(cls, items: Any) -> Any:
        if isinstance(items, list) and not items:
            raise FieldError("must not be empty")
        return tuple(items) if isinstance(items, list) else items

    @field_validator("scales")
    @classmethod
    def _known(cls, scales: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in scales if s not in TIMED_SCALES]
        if unknown:
            raise FieldError(f"{unknown[0]!r} is not one of {', '.join(TIMED_SCALES)}")
        return scales

    @model_validator(mode="after")
    def _whole(self) -> Self:
        try:
            self.schedule()
        except ValueError as err:
            raise FieldError(str(err), sentence=True) from None
        return self

    def schedule(self) -> ObservationSchedule:
        """The domain's schedule (raises ValueError for labels used twice)."""
        return ObservationSchedule(
            points=tuple(p.point() for p in self.points),
            scales=self.scales,
            overdue_after_min=float(self.overdue_after_min),
        )


class AccountsTable(Table):
    """``[accounts]``: the shift log-in's idle lock (issue 16)."""

    HEADING = "[accounts]"
    idle_lock_min: Annotated[float, within(1, 240, "min")] = Field(
        default=10.0,
        description="Minutes without keyboard or mouse input before the screen locks "
        "(vitals and alarms stay live; acknowledge and audio pause still work).",
    )


class ConsoleFile(Table):
    """The whole file: ``resources/default_config.toml`` merged with the user's, the
    environment and the options."""

    storage: StorageTable = Field(default_factory=StorageTable)
    chair: ChairTable = Field(default_factory=ChairTable)
    device: DeviceTable = Field(default_factory=DeviceTable)
    simulator: SimulatorTable = Field(default_factory=SimulatorTable)
    chairs: tuple[ChairEntry, ...] = Field(
        default=(), description=f"Several chairs on one console (at most {MAX_CHAIRS})."
    )
    alarms: AlarmsTable = Field(default_factory=AlarmsTable)
    limits: tuple[LimitEntry, ...] = Field(default=(), description="Alarm limit tiers.")
    observations: ObservationsTable = Field(default_factory=ObservationsTable)
    accounts: AccountsTable = Field(default_factory=AccountsTable)

    @field_validator("chairs", mode="before")
    @classmethod
    def _at_most_sixteen(cls, chairs: Any) -> Any:
        if isinstance(chairs, list) and len(chairs) > MAX_CHAIRS:
            raise FieldError(f"lists {len(chairs)} chairs; at most {MAX_CHAIRS}")
        return tuple(chairs) if isinstance(chairs, list) else chairs

    @field_validator("limits", mode="before")
    @classmethod
    def _array(cls, limits: Any) -> Any:
        return tuple(limits) if isinstance(limits, list) else limits

    @model_validator(mode="after")
    def _whole(self) -> Self:
        seen: dict[str, int] = {}
        for i, chair in enumerate(self.chairs):
            key = chair.name.casefold()
            if key in seen:
                raise FieldError(
                    f"{chair.name!r} is already used by chairs[{seen[key]}]; "
                    "chair names must be unique",
                    "chairs",
                    i,
                    "name",
                )
            seen[key] = i
        try:
            self.policy()
        except LimitError as err:
            raise FieldError(str(err), "limits", sentence=True) from None
        return self

    def policy(self) -> AlarmPolicy:
        """The limit tiers as one policy (raises LimitError for tiers that contradict)."""
        return AlarmPolicy(tuple(entry.rule() for entry in self.limits))


#: The tables in file order, for the reference and the unknown-key hints.
TABLES: tuple[type[Table], ...] = (
    StorageTable,
    ChairTable,
    DeviceTable,
    SimulatorTable,
    ChairEntry,
    AlarmsTable,
    BaselineTable,
    LimitEntry,
    ObservationsTable,
    ObservationPoint,
    AccountsTable,
)
