"""A physiological model of one patient through a ketamine infusion session.

The shape follows clinical.md section D: blood pressure and heart rate rise after the infusion
starts, peak around 30-40 minutes, and return towards baseline within ~1.5 h after the end.
Everything is a pure function of session time and a seeded ``random.Random``, so a seed and a
sampling schedule always give the same numbers, whatever the replay speed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Rise time constant of the ketamine pressor response (s): ~85 % of the peak after 15 min.
RISE_TAU_S = 8 * 60.0
#: Decay time constant after the infusion ends (s): back near baseline ~1.5 h later.
DECAY_TAU_S = 25 * 60.0


@dataclass(frozen=True, slots=True)
class SessionTimeline:
    """When the simulated infusion starts and stops, in seconds of session time."""

    baseline_s: float = 5 * 60.0
    infusion_s: float = 40 * 60.0
    observation_s: float = 30 * 60.0

    @property
    def infusion_start_s(self) -> float:
        """Session time at which the infusion starts."""
        return self.baseline_s

    @property
    def infusion_end_s(self) -> float:
        """Session time at which the infusion stops."""
        return self.baseline_s + self.infusion_s

    @property
    def total_s(self) -> float:
        """Length of the whole simulated session."""
        return self.baseline_s + self.infusion_s + self.observation_s


@dataclass(frozen=True, slots=True)
class PatientProfile:
    """Baseline and peak response of one simulated patient (before per-seed variation)."""

    name: str
    base_sbp: float
    base_dbp: float
    base_hr: float
    base_spo2: float
    base_rr: float
    rise_sbp: float
    rise_dbp: float
    rise_hr: float


PROFILES: dict[str, PatientProfile] = {
    # A typical responder: +18/+10 mmHg and +10 /min at peak; no physiological alarm expected.
    "routine": PatientProfile("routine", 124, 78, 72, 98, 14, 18, 10, 10),
    # A hypertensive responder: SBP crosses 180 about 15 min into the infusion.
    "hypertensive-surge": PatientProfile("hypertensive-surge", 140, 86, 78, 97, 15, 56, 26, 22),
}


@dataclass(frozen=True, slots=True)
class Vitals:
    """Instantaneous true values of the simulated patient."""

    hr: float
    spo2: float
    rr: float
    sbp: float
    dbp: float
    temp: float

    @property
    def mean(self) -> float:
        """Mean arterial pressure by the usual one-third pulse-pressure rule."""
        return self.dbp + (self.sbp - self.dbp) / 3.0


@dataclass(frozen=True, slots=True)
class Effect:
    """A scripted change of one vital sign over a span of session time.

    The change ramps in linearly over ``ramp_s``, holds, and ramps out over ``ramp_s`` after
    ``end_s`` (a bradycardia or a desaturation does not start or end in a single beat).
    """

    vital: str  # "hr", "spo2", "sbp", "dbp", "rr"
    start_s: float
    end_s: float
    delta: float
    ramp_s: float = 30.0

    def at(self, t_s: float) -> float:
        """Contribution of this effect at ``t_s``."""
        if t_s <= self.start_s or t_s >= self.end_s + self.ramp_s:
            return 0.0
        ramp = max(self.ramp_s, 1e-9)
        if t_s < self.start_s + ramp:
            return self.delta * (t_s - self.start_s) / ramp
        if t_s <= self.end_s:
            return self.delta
        return self.delta * (1.0 - (t_s - self.end_s) / ramp)


VITALS = ("hr", "spo2", "sbp", "dbp", "rr")


class PatientModel:
    """Deterministic, seeded patient whose vitals follow the session timeline."""

    def __init__(
        self,
        profile: PatientProfile | str = "routine",
        *,
        seed: int = 0,
        timeline: SessionTimeline | None = None,
    ) -> None:
        if isinstance(profile, str):
            try:
                profile = PROFILES[profile]
            except KeyError:
                known = ", ".join(sorted(PROFILES))
                raise ValueError(f"unknown patient profile {profile!r} (known: {known})") from None
        self.timeline = timeline or SessionTimeline()
        rng = random.Random(seed)
        # Per-patient variation: the same profile gives a different person for each seed.
        self.base_sbp = profile.base_sbp + rng.gauss(0, 5)
        self.base_dbp = profile.base_dbp + rng.gauss(0, 3)
        self.base_hr = profile.base_hr + rng.gauss(0, 4)
        self.base_spo2 = min(99.5, profile.base_spo2 + rng.gauss(0, 0.5))
        self.base_rr = profile.base_rr + rng.gauss(0, 1)
        self.rise_sbp = max(0.0, profile.rise_sbp * (1 + rng.gauss(0, 0.08)))
        self.rise_dbp = max(0.0, profile.rise_dbp * (1 + rng.gauss(0, 0.08)))
        self.rise_hr = max(0.0, profile.rise_hr * (1 + rng.gauss(0, 0.1)))
        self.breath_phase = rng.uniform(0, 2 * math.pi)
        self.seed = seed
        self.profile = profile
        self.effects: list[Effect] = []

    def add_effect(self, effect: Effect) -> None:
        """Script a change (a scenario's bradycardia, desaturation, surge...)."""
        if effect.vital not in VITALS:
            raise ValueError(f"unknown vital {effect.vital!r}; one of {', '.join(VITALS)}")
        self.effects.append(effect)

    def _noise(self, t_s: float, salt: str) -> random.Random:
        """A generator seeded by (seed, salt, millisecond of session time)."""
        return random.Random(f"{self.seed}:{salt}:{round(t_s * 1000)}")

    def _effect(self, vital: str, t_s: float) -> float:
        return sum(e.at(t_s) for e in self.effects if e.vital == vital)

    def response(self, t_s: float) -> float:
        """Fraction (0..1) of the peak ketamine response at session time ``t_s``."""
        start, end = self.timeline.infusion_start_s, self.timeline.infusion_end_s
        if t_s <= start:
            return 0.0
        at_end = 1.0 - math.exp(-(end - start) / RISE_TAU_S)
        if t_s <= end:
            return (1.0 - math.exp(-(t_s - start) / RISE_TAU_S)) / at_end
        return math.exp(-(t_s - end) / DECAY_TAU_S)

    def vitals_at(self, t_s: float) -> Vitals:
        """True vitals at ``t_s`` with breathing-related variation and measurement noise.

        The noise is a pure function of (seed, time): the same seed gives the same patient at
        the same instants however the host schedules the samples (at x300 a few milliseconds of
        start-up jitter is a whole simulated second).
        """
        f = self.response(t_s)
        breath = math.sin(2 * math.pi * t_s / (60.0 / max(self.base_rr, 1.0)) + self.breath_phase)
        noise = self._noise(t_s, "vitals")
        fx = self._effect
        hr = self.base_hr + self.rise_hr * f + 1.5 * breath + noise.gauss(0, 0.8) + fx("hr", t_s)
        sbp = self.base_sbp + self.rise_sbp * f + 2.0 * breath + fx("sbp", t_s)
        dbp = self.base_dbp + self.rise_dbp * f + 1.0 * breath + fx("dbp", t_s)
        spo2 = min(100.0, self.base_spo2 + noise.gauss(0, 0.3) + fx("spo2", t_s))
        rr = max(0.0, self.base_rr + noise.gauss(0, 0.5) + fx("rr", t_s))
        temp = 36.7 + 0.05 * math.sin(t_s / 1800.0)
        return Vitals(hr=hr, spo2=spo2, rr=rr, sbp=sbp, dbp=dbp, temp=temp)

    def cuff_measurement(self, t_s: float) -> tuple[float, float, float]:
        """An oscillometric NIBP result (sys, dia, mean) completed at ``t_s``.

        Cuff readings scatter more than the beat-to-beat pressure does (a few mmHg), which is
        part of why NIBP alarms are confirmed by a repeat reading.
        """
        vit = self.vitals_at(t_s)
        noise = self._noise(t_s, "cuff")
        sys_ = vit.sbp + noise.gauss(0, 3)
        dia = vit.dbp + noise.gauss(0, 2)
        mean = dia + (sys_ - dia) / 3.0
        return round(sys_), round(dia), round(mean)
