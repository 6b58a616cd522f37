"""The configuration schema: every table's unknown keys and wrong types, the environment and the
options through the same checks, the README's reference printed from it (issue 15)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.cli import build_parser, main, settings_from_args
from console.config import (
    DEFAULT_CONFIG,
    ENV_DB_URL,
    ConfigError,
    DeviceConfig,
    SimulatorConfig,
    load,
    user_config_file,
)
from console.config_messages import table_type
from console.config_reference import reference, toml_value
from console.config_schema import TABLES, ChairEntry, ConsoleFile, LimitEntry, ObservationPoint

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS: dict[str, Any] = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
LIMIT = '[[limits]]\nmetric = "HR"\ndirection = "high"\nlimit = 120\npriority = "medium"\n'


def _refused(tmp_path: Path, toml: str, **kwargs: Any) -> str:
    path = tmp_path / "console.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path, environ={}, **kwargs)
    return str(err.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[storage]\ndburl = ""\n', "[storage] unknown key 'dburl' (did you mean 'db_url'?)"),
        ('[chair]\nnmae = "A"\n', "[chair] unknown key 'nmae' (did you mean 'name'?)"),
        ("[device]\nbaudrate = 9600\n", "[device] unknown key 'baudrate' (did you mean 'baud'?)"),
        ("[device]\ncolour = 1\n", "[device] unknown key 'colour'"),
        ("[simulator]\nsped = 60\n", "[simulator] unknown key 'sped' (did you mean 'speed'?)"),
        (
            "[alarms]\naudio_pause = 60\n",
            "[alarms] unknown key 'audio_pause' (did you mean 'audio_pause_s'?)",
        ),
        (
            "[alarms.baseline]\nsbp_rise = 30\n",
            "[alarms.baseline] unknown key 'sbp_rise' (did you mean 'sbp_rise_mmhg'?)",
        ),
        (
            '[alarms.basline]\npriority = "high"\n',
            "[alarms] unknown key 'basline' (did you mean 'baseline'?)",
        ),
        (
            '[[chairs]]\nname = "A"\n[[chairs]]\nname = "B"\nprotocl = "masimo"\n',
            "chairs[1] unknown key 'protocl' (did you mean 'protocol'?)",
        ),
        (LIMIT + "dealy_s = 10\n", "limits[0] unknown key 'dealy_s' (did you mean 'delay_s'?)"),
        ("[simulater]\nseed = 2\n", "unknown section [simulater] (did you mean 'simulator'?)"),
        ("[[chair]]\nname = 'A'\n", "[chair] must be a table, got list"),
    ],
)
def test_every_table_refuses_an_unknown_key_with_the_nearest_name(
    tmp_path: Path, toml: str, message: str
) -> None:
    assert _refused(tmp_path, toml) == message


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[storage]\ndb_url = 5\n", "[storage] db_url must be str, got int 5"),
        ("[chair]\nname = 3\n", "[chair] name must be str, got int 3"),
        ('[device]\nrtscts = "yes"\n', "[device] rtscts must be bool, got str 'yes'"),
        ("[device]\nbaud = 9600.0\n", "[device] baud must be int, got float 9600.0"),
        (
            '[device]\nhl7_accept = "ORU^R01"\n',
            '[device] hl7_accept must be a non-empty list of HL7 message types like "ORU^R01", '
            "got 'ORU^R01'",
        ),
        ('[simulator]\nseed = "7"\n', "[simulator] seed must be int, got str '7'"),
        ("[simulator]\nspeed = nan\n", "[simulator] speed must be a finite number, got nan"),
        ("[alarms]\nlatch_high = 1\n", "[alarms] latch_high must be bool, got int 1"),
        (
            "[alarms]\nnibp_interval_s = true\n",
            "[alarms] nibp_interval_s must be float, got bool True",
        ),
        (
            '[alarms.baseline]\nconfirm = "true"\n',
            "[alarms.baseline] confirm must be bool, got str 'true'",
        ),
        ("[alarms]\nbaseline = 3\n", "[alarms.baseline] must be a table, got int"),
        ('[[chairs]]\nname = "A"\nseed = 1.5\n', "chairs[0].seed must be int, got float 1.5"),
        ("[[chairs]]\nname = 7\n", "chairs[0].name must be str, got int 7"),
        ("chairs = [1]\n", "chairs[0] must be a table, got int"),
        (
            LIMIT.replace("limit = 120", 'limit = "120"'),
            "limits[0].limit must be a number, got str '120'",
        ),
        (LIMIT + "confirm = 0\n", "limits[0].confirm must be bool, got int 0"),
        ("[limits]\nmetric = 'HR'\n", "[[limits]] must be an array of tables"),
        ("[[limits]]\nmetric = 'HR'\n", "limits[0].direction is required"),
    ],
)
def test_every_table_names_a_wrong_type_and_what_it_expects(
    tmp_path: Path, toml: str, message: str
) -> None:
    assert _refused(tmp_path, toml) == message


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[device]\ninterval_s = 0\n", "[device] interval_s must be 1-60 seconds, got 0"),
        ('[device]\nurl = "COM3"\n', "[device] url is only for a real device; kind is 'sim'"),
        ('[chair]\nname = "  "\n', "[chair] name must not be empty"),
        (
            "[simulator]\ninfusion_min = -1\n",
            "[simulator] infusion_min must be 0-1440 minutes, got -1",
        ),
        (
            "[alarms]\naudio_pause_s = 5\n",
            "[alarms] alarm setting audio_pause_s = 5 must be 10-900 s",
        ),
        (
            LIMIT + LIMIT.replace('"high"', '"low"').replace("120", "130"),
            "[[limits]]: HR: low limit 130 is not below high limit 120",
        ),
    ],
)
def test_clinical_and_range_rules_name_their_key(tmp_path: Path, toml: str, message: str) -> None:
    assert _refused(tmp_path, toml) == message


def test_an_option_gets_the_files_message_and_names_itself(tmp_path: Path) -> None:
    from_file = _refused(tmp_path, "[simulator]\nspeed = 0\n")
    assert from_file == "[simulator] speed must be in (0, 1000], got 0"
    parse = build_parser().parse_args
    with pytest.raises(ConfigError) as err:
        settings_from_args(parse(["--speed", "0", "--db", "sqlite://"]))
    assert str(err.value) == f"{from_file} (from --speed)"
    with pytest.raises(ConfigError) as err:
        settings_from_args(parse(["--chair", " ", "--db", "sqlite://"]))
    assert str(err.value) == "[chair] name must not be empty (from --chair)"
    with pytest.raises(ConfigError) as err:
        settings_from_args(parse(["--device", "acme-9000", "--port", "COM3", "--db", "sqlite://"]))
    assert str(err.value).startswith("[device] kind 'acme-9000' is not one of sim, ge-datex")
    assert str(err.value).endswith("(from --device)")
    # An option overrides a bad value of the file: only the merged result is checked.
    path = tmp_path / "console.toml"
    assert path.read_text() == "[simulator]\nspeed = 0\n"
    assert settings_from_args(parse(["--config", str(path), "--speed", "5"])).simulator.speed == 5


def test_the_environment_gets_the_same_checks_and_names_its_variable(tmp_path: Path) -> None:
    bad = "postgresql+psycopg://app:secret@db.example:abc/infusion"
    from_file = _refused(tmp_path, f'[storage]\ndb_url = "{bad}"\n')
    assert from_file.startswith("[storage] db_url: not a database URL:")
    assert "secret" not in from_file
    with pytest.raises(ConfigError) as err:
        load(environ={ENV_DB_URL: bad})
    assert str(err.value) == f"{from_file} (from {ENV_DB_URL})"
    good = load(environ={ENV_DB_URL: "sqlite:///env.db"})
    assert good.db_url == "sqlite:///env.db"


def test_a_bad_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--nibp-interval", "5", "--db", "sqlite://"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "infusion-console: configuration error: [simulator] nibp_interval_s must be "
        "30-3600 s, got 5 (from --nibp-interval)"
    ]


def test_device_kinds_are_checked_when_the_configuration_loads() -> None:
    """An unknown kind is refused by ``load`` and by the command line before Qt is imported:
    a clinic learns of a typo at once, not when the window would open."""
    code = (
        "import sys\n"
        "from console.config import ConfigError, load\n"
        "try:\n"
        "    load(overrides={'device.kind': 'datexx', 'device.url': 'COM3'}, environ={})\n"
        "except ConfigError as err:\n"
        "    print('load:', err)\n"
        "from console.cli import main\n"
        "print('main:', main(['--device', 'datexx', '--port', 'COM3', '--db', 'sqlite://']))\n"
        "print('qt:', sorted(m for m in sys.modules if m.startswith('PySide6')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    out = done.stdout.splitlines()
    assert out[0].startswith("load: [device] kind 'datexx' is not one of sim, ge-datex"), done
    assert out[1] == "main: 2"
    assert out[2] == "qt: []"
    assert "kind 'datexx'" in done.stderr


def test_the_readme_reference_is_the_schemas() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- config-reference:start -->\n(.*?)<!-- config-reference:end -->", text, re.S
    )
    assert found, "README.md lost its configuration reference markers"
    assert found.group(1) == reference(), "run: python -m console.config_reference"


def test_the_reference_lists_every_key_of_every_table() -> None:
    printed = reference()
    for table in TABLES:
        for name, field in table.model_fields.items():
            if table_type(field.annotation) is None:  # a nested table has rows of its own
                assert f"`{table.HEADING} {name}`" in printed
    done = subprocess.run(
        [sys.executable, "-m", "console.config_reference"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout == printed


def _default_keys() -> list[tuple[str, ...]]:
    """Every key of the default file: ``(section, key)`` or ``(alarms, baseline, key)``."""
    keys: list[tuple[str, ...]] = []
    for section, table in DEFAULTS.items():
        if section == "limits":
            continue
        for key, value in table.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                continue  # an array of tables ([[observations.points]]), checked on its own
            if isinstance(value, dict):
                keys += [(section, key, sub) for sub in value]
            else:
                keys.append((section, key))
    return keys


DEFAULT_KEYS = _default_keys()


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        tree = getattr(tree, part) if not isinstance(tree, dict) else tree[part]
    return tree


def test_the_schemas_defaults_are_the_default_files() -> None:
    """One default per key: the schema's own equals the file's (and so the reference's)."""
    assert len(DEFAULT_KEYS) > 30
    bare = ConsoleFile()
    for path in DEFAULT_KEYS:
        value = _get(DEFAULTS, path)
        assert toml_value(_get(bare, path)) == toml_value(value), path
    # Every key the schema declares for a single-valued table is in the default file.
    declared = {
        (t.HEADING.strip("[]"), name)
        for t in TABLES
        if t not in (ChairEntry, LimitEntry, ObservationPoint)
        for name, f in t.model_fields.items()
        if table_type(f.annotation) is None
    }
    written = {(".".join(p[:-1]), p[-1]) for p in DEFAULT_KEYS}
    assert declared == written
    assert [p.model_dump() for p in bare.observations.points] == DEFAULTS["observations"]["points"]
    settings_ = load(environ={})
    assert settings_.device == DeviceConfig()
    assert settings_.simulator == SimulatorConfig()


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for section, table in sections.items():
        out.append(f"[{section}]")
        for key, value in table.items():
            if isinstance(value, str):
                text = json.dumps(value, ensure_ascii=False)  # TOML's basic string escapes
            elif isinstance(value, float):
                text = repr(value)  # every digit, not %g's six
            else:
                text = toml_value(value)
            out.append(f"{key} = {text}")
    return "\n".join(out) + "\n"


@settings(max_examples=60)
@given(st.sets(st.sampled_from(DEFAULT_KEYS), min_size=1))
def test_every_default_key_round_trips_through_the_schema(keys: set[tuple[str, ...]]) -> None:
    """Any subset of the default file's keys, written back as a user file, validates to the
    same values and the same settings as the defaults alone."""
    sections: dict[str, dict[str, Any]] = {}
    for path in sorted(keys):
        sections.setdefault(".".join(path[:-1]), {})[path[-1]] = _get(DEFAULTS, path)
    checked = ConsoleFile.model_validate(tomllib.loads(_toml(sections)))
    for path in keys:
        assert toml_value(_get(checked, path)) == toml_value(_get(DEFAULTS, path))
    with tempfile.TemporaryDirectory() as tmp:
        user = Path(tmp) / "user.toml"
        user.write_text(_toml(sections), encoding="utf-8")
        assert load(user, environ={}) == load(environ={})


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=60)
@given(
    name=TEXT.filter(str.strip),
    profile_name=TEXT,
    seed=st.integers(-(2**63), 2**63 - 1),
    speed=st.floats(0, 1000, exclude_min=True),
    location=TEXT,
)
def test_written_values_come_back_in_the_settings(
    name: str, profile_name: str, seed: int, speed: float, location: str
) -> None:
    text = _toml(
        {
            "chair": {"name": name},
            "simulator": {"seed": seed, "speed": speed},
            "alarms": {"profile_name": profile_name},
            "device": {"hl7_location": location},
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        user = Path(tmp) / "user.toml"
        user.write_text(text, encoding="utf-8")
        got = load(user, {"storage.db_url": "sqlite://"}, environ={})
    assert got.chair_name == name.strip()
    assert (got.simulator.seed, got.simulator.speed) == (seed, speed)
    assert got.alarm_profile.name == profile_name
    assert got.device.hl7_location == location


def test_the_user_config_file_is_read_without_config_and_named_when_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An installed console, its headless commands and a shell read the same settings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = user_config_file()
    assert path == tmp_path / "infusion-console" / "console.toml"
    assert load(environ={}).chair_name == "Chair 1"  # no file: the defaults
    path.parent.mkdir()
    path.write_text('[chair]\nname = "Bay 4"\n[storage]\ndb_url = "sqlite:///clinic.db"\n')
    assert load(environ={}).chair_name == "Bay 4"
    assert settings_from_args(build_parser().parse_args([])).db_url == "sqlite:///clinic.db"
    other = tmp_path / "other.toml"
    other.write_text('[chair]\nname = "Bay 5"\n')
    assert load(other, environ={}).chair_name == "Bay 5"  # --config replaces it
    path.write_text('[storage]\ndburl = "sqlite:///clinic.db"\n')
    with pytest.raises(ConfigError) as err:
        load(environ={})
    assert str(err.value) == (f"[storage] unknown key 'dburl' (did you mean 'db_url'?) (in {path})")


@pytest.mark.parametrize("command", ["sessions", "review", "export", "run"])
def test_the_headless_commands_name_their_db_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "postgresql+psycopg://app:secret@db.example:abc/infusion"
    extra = {"export": ["--session", "1", "--out", "-"], "run": ["--scenario", "routine"]}
    assert main([command, *extra.get(command, []), "--db", bad]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "[storage] db_url: not a database URL" in line
    assert line.endswith("(from --db)")
    assert "secret" not in line
