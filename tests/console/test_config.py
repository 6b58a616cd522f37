"""Configuration: defaults, precedence, and a clear message naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ENV_DB_URL, ConfigError, load
from console.domain.alarms import Priority
from devices.model import Metric


def test_defaults_run_the_simulator_on_sqlite_in_the_user_data_dir() -> None:
    settings = load(environ={})
    assert settings.device.simulated
    assert settings.db_url.startswith("sqlite:///")
    assert "infusion-console" in settings.db_url
    rules = settings.alarm_policy.limit_lines(Metric.NIBP_SYS)
    assert {(r.limit, r.priority) for r in rules} >= {(180, Priority.MEDIUM), (200, Priority.HIGH)}


def test_precedence_file_then_environment_then_cli(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[storage]\ndb_url = "sqlite:///file.db"\n[chair]\nname = "Bay 3"\n')
    assert load(cfg, environ={}).db_url == "sqlite:///file.db"
    assert load(cfg, environ={ENV_DB_URL: "sqlite:///env.db"}).db_url == "sqlite:///env.db"
    s = load(cfg, {"storage.db_url": "sqlite:///cli.db"}, environ={ENV_DB_URL: "sqlite:///env.db"})
    assert s.db_url == "sqlite:///cli.db"
    assert s.chair_name == "Bay 3"


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('[simulator]\nspeed = "fast"\n', "[simulator] speed must be float"),
        ("[simulator]\nspeed = 0\n", "[simulator] speed must be in"),
        ('[simulator]\nprofile = "zombie"\n', "profile 'zombie'"),
        ('[device]\nkind = "ge-datex"\n', "[device] url is required"),
        ("[device]\nbaud = -5\n", "[device] baud"),
        (
            '[[limits]]\nmetric = "HR"\ndirection = "high"\nlimit = 500\npriority = "high"\n',
            "outside the physiological range",
        ),
        (
            '[[limits]]\nmetric = "BP"\ndirection = "high"\nlimit = 150\npriority = "high"\n',
            "limits[0].metric 'BP'",
        ),
        (
            '[[limits]]\nmetric = "HR"\ndirection = "up"\nlimit = 150\npriority = "high"\n',
            "limits[0].direction",
        ),
        (
            '[[limits]]\nmetric = "HR"\ndirection = "high"\nlimit = 150\npriority = "urgent"\n',
            "limits[0].priority",
        ),
        ("[storage\n", "not valid TOML"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, toml: str, fragment: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(cfg, environ={})
    assert fragment in str(info.value)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        # The hazard: the clinic's records silently went to a local SQLite file.
        (
            '[storage]\ndburl = "postgresql+psycopg://app@db/infusion"\n',
            "[storage] unknown key 'dburl' (did you mean 'db_url'?)",
        ),
        ('[device]\nknd = "ge-datex"\n', "[device] unknown key 'knd' (did you mean 'kind'?)"),
        ("[simulator]\nsped = 60\n", "[simulator] unknown key 'sped' (did you mean 'speed'?)"),
        ('[chair]\nnmae = "Chair 3"\n', "[chair] unknown key 'nmae' (did you mean 'name'?)"),
        (
            '[strage]\ndb_url = "sqlite:///x"\n',
            "unknown section [strage] (did you mean 'storage'?)",
        ),
        ("[colour]\ntheme = 1\n", "unknown section [colour]"),
        ('storage = "sqlite:///x"\n', "[storage] must be a table, got str"),
    ],
)
def test_an_unknown_key_or_section_is_refused_with_its_name(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "console.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    assert str(err.value) == message


def test_every_key_of_the_default_file_is_accepted_in_a_user_file(tmp_path: Path) -> None:
    from console.config import DEFAULT_CONFIG

    path = tmp_path / "console.toml"
    path.write_bytes(DEFAULT_CONFIG.read_bytes())
    assert load(path, environ={}) == load(environ={})


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("datex", "ge-datex"),
        ("ge-datex", "ge-datex"),
        ("intellivue", "philips-intellivue"),
        ("masimo", "masimo-radical"),
        ("hl7", "hl7-mllp"),
        ("hl7-mllp", "hl7-mllp"),
    ],
)
def test_a_device_is_named_by_its_kind_or_its_protocol(
    tmp_path: Path, written: str, kind: str
) -> None:
    path = tmp_path / "console.toml"
    path.write_text(
        f'[device]\nkind = "{written}"\nurl = "/dev/ttyUSB0"\n'
        f'[[chairs]]\nname = "Chair 2"\nkind = "{written}"\nurl = "/dev/ttyUSB1"\n'
    )
    settings = load(path, environ={})
    assert settings.device.kind == kind
    assert settings.chairs[0].device.kind == kind
    assert (
        load(overrides={"device.kind": written, "device.url": "COM3"}, environ={}).device.kind
        == kind
    )


def test_an_unknown_device_name_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kind 'datexx' is not one of"):
        load(overrides={"device.kind": "datexx", "device.url": "COM3"}, environ={})
