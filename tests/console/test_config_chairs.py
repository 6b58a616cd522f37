"""Several chairs in one console: ``[[chairs]]`` in TOML and ``--chairs N`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import build_parser, main, settings_from_args
from console.config import (
    MAX_CHAIRS,
    SIM_PROTOCOLS,
    ConfigError,
    SimulatorConfig,
    chair_settings,
    load,
    simulated_chairs,
)

TWO_CHAIRS = """
[simulator]
speed = 30
seed = 10
profile = "hypertensive-surge"

[[chairs]]
name = "Bay 1"
kind = "ge-datex"
url = "/dev/ttyUSB0"
rtscts = true

[[chairs]]
name = "Bay 2"
protocol = "intellivue"
scenario = "bradycardia"
"""


def _load(tmp_path: Path, text: str, **overrides: object):
    cfg = tmp_path / "chairs.toml"
    cfg.write_text(text)
    return load(cfg, {"storage.db_url": "sqlite://", **overrides}, environ={})


def test_without_chairs_the_single_chair_settings_are_unchanged(tmp_path: Path) -> None:
    settings = _load(tmp_path, '[chair]\nname = "Bay 9"\n[simulator]\nseed = 4\n')
    assert settings.chairs == ()
    (only,) = chair_settings(settings)
    assert only is settings
    assert only.chair_name == "Bay 9"
    assert only.simulator.seed == 4


def test_chairs_table_gives_one_settings_per_chair(tmp_path: Path) -> None:
    settings = _load(tmp_path, TWO_CHAIRS)
    real, sim = chair_settings(settings)
    assert [s.chair_name for s in (real, sim)] == ["Bay 1", "Bay 2"]
    assert not real.device.simulated
    assert real.device.kind == "ge-datex"
    assert real.device.url == "/dev/ttyUSB0"
    assert real.device.rtscts
    assert sim.device.simulated
    assert sim.simulator.protocol == "intellivue"
    assert sim.simulator.scenario == "bradycardia"
    # Unset simulator options come from [simulator]; the seed differs per chair.
    assert sim.simulator.profile == "hypertensive-surge"
    assert sim.simulator.seed == 11
    # The clock speed is global.
    assert {s.simulator.speed for s in (real, sim)} == {30.0}
    assert all(s.chairs == () for s in (real, sim))
    # Alarm limits and storage are shared.
    assert real.alarm_policy == sim.alarm_policy == settings.alarm_policy


@pytest.mark.parametrize(
    ("chairs", "fragment"),
    [
        (
            '[[chairs]]\nname = "A"\nkind = "ge-datex"\n',
            "chairs[0].url is required for device kind 'ge-datex'",
        ),
        (
            '[[chairs]]\nname = "A"\n[[chairs]]\nname = "B"\n'
            '[[chairs]]\nname = "C"\nkind = "ge-datex"\n',
            "chairs[2].url is required for device kind 'ge-datex'",
        ),
        (
            '[[chairs]]\nname = "A"\n[[chairs]]\nname = "a"\n',
            "chairs[1].name 'a' is already used by chairs[0]",
        ),
        ("[[chairs]]\nseed = 3\n", "chairs[0].name is required"),
        ('[[chairs]]\nname = "  "\n', "chairs[0].name must not be empty"),
        ('[[chairs]]\nname = "A"\ncolour = "red"\n', "chairs[0] unknown key 'colour'"),
        (
            '[[chairs]]\nname = "A"\nkind = "acme-9000"\nurl = "COM3"\n',
            "chairs[0].kind 'acme-9000'",
        ),
        ('[[chairs]]\nname = "A"\nprotocol = "morse"\n', "chairs[0].protocol 'morse'"),
        ('[[chairs]]\nname = "A"\nprofile = "zombie"\n', "chairs[0].profile 'zombie'"),
        ('[[chairs]]\nname = "A"\nseed = "x"\n', "chairs[0].seed must be int"),
        ('[[chairs]]\nname = "A"\nbaud = -1\nkind = "ge-datex"\nurl = "COM1"\n', "chairs[0].baud"),
        ('[[chairs]]\nname = "A"\nscenario = "no-such-thing"\n', "chairs[0].scenario"),
        ('[[chairs]]\nname = "A"\nurl = "COM1"\n', "chairs[0].url is only for a real device"),
        (
            '[[chairs]]\nname = "A"\nkind = "ge-datex"\nurl = "COM1"\nseed = 2\n',
            "chairs[0]: seed only apply to kind 'sim'",
        ),
        ('[[chairs]]\nname = "A"\nnibp_interval_s = 5\n', "chairs[0].nibp_interval_s"),
        ('chairs = "all"\n', "[[chairs]] must be an array of tables"),
        (
            "".join(f'[[chairs]]\nname = "C{i}"\n' for i in range(MAX_CHAIRS + 1)),
            f"lists {MAX_CHAIRS + 1} chairs; at most {MAX_CHAIRS}",
        ),
    ],
)
def test_bad_chairs_name_their_key(tmp_path: Path, chairs: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, chairs)
    assert fragment in str(err.value)


def test_thirty_two_chairs_are_allowed(tmp_path: Path) -> None:
    text = "".join(f'[[chairs]]\nname = "Chair {i + 1}"\n' for i in range(MAX_CHAIRS))
    settings = _load(tmp_path, text)
    assert len(chair_settings(settings)) == MAX_CHAIRS
    assert [s.simulator.seed for s in chair_settings(settings)] == list(range(1, MAX_CHAIRS + 1))


def test_simulated_chairs_round_robin_protocols_and_seeds() -> None:
    chairs = simulated_chairs(6, SimulatorConfig(seed=1, speed=60))
    assert [c.name for c in chairs] == [f"Chair {i}" for i in range(1, 7)]
    assert [c.simulator.seed for c in chairs] == [1, 2, 3, 4, 5, 6]
    assert [c.simulator.protocol for c in chairs] == [*SIM_PROTOCOLS, *SIM_PROTOCOLS[:2]]
    assert all(c.device.simulated and c.simulator.speed == 60 for c in chairs)
    with pytest.raises(ConfigError, match="1-32"):
        simulated_chairs(0, SimulatorConfig())


def test_cli_chairs_option(tmp_path: Path) -> None:
    parse = build_parser().parse_args
    settings = settings_from_args(parse(["--chairs", "4", "--speed", "60", "--db", "sqlite://"]))
    per_chair = chair_settings(settings)
    assert [s.chair_name for s in per_chair] == ["Chair 1", "Chair 2", "Chair 3", "Chair 4"]
    assert [s.simulator.protocol for s in per_chair] == list(SIM_PROTOCOLS)
    assert {s.simulator.speed for s in per_chair} == {60.0}
    one_protocol = settings_from_args(
        parse(["--chairs", "3", "--protocol", "masimo", "--seed", "5", "--db", "sqlite://"])
    )
    assert [s.simulator.protocol for s in chair_settings(one_protocol)] == ["masimo"] * 3
    assert [s.simulator.seed for s in chair_settings(one_protocol)] == [5, 6, 7]
    most = settings_from_args(parse(["--chairs", "32", "--db", "sqlite://"]))
    assert [s.chair_name for s in chair_settings(most)][-1] == "Chair 32"
    # --chairs replaces the [[chairs]] of a config file.
    cfg = tmp_path / "c.toml"
    cfg.write_text(TWO_CHAIRS)
    demo = settings_from_args(parse(["--config", str(cfg), "--chairs", "2", "--db", "sqlite://"]))
    assert [c.name for c in demo.chairs] == ["Chair 1", "Chair 2"]


def test_cli_refuses_bad_chair_counts_and_real_devices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--chairs", "33", "--db", "sqlite://"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--chairs must be 1-32, got 33" in err
    assert "\n" not in err  # one clear line, no traceback
    assert main(["--chairs", "2", "--device", "ge-datex", "--port", "COM1"]) == 2
    assert "cannot be used with --device/--port" in capsys.readouterr().err


def test_help_documents_the_chairs_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "--chairs N" in out
    assert "round-robin" in out
