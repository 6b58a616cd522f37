"""Command line of the console: ``python main.py`` / ``infusion-console``.

With no options it opens the main window with one chair fed by the built-in simulated monitor
(served on a pseudo-terminal and read through pyserial), storing into SQLite in the per-user data
directory.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from console.commands import COMMANDS, load_command
from console.config import (
    MAX_CHAIRS,
    SIM_PROFILES,
    ConfigError,
    Settings,
    load,
    sim_protocols,
    simulated_chairs,
    user_config_file,
)
from console.log import default_log_dir, install_excepthooks, setup_logging
from console.qt_preflight import missing_platform_library
from console.storage.engine import StorageConfigError, describe_url, parse_url
from console.version import version_line
from devices.cli_parser import OneLineParser
from devices.registry import list_kinds, protocol_names

log = logging.getLogger("console")


def _epilog() -> str:
    lines = [
        "Precedence: resources/default_config.toml < --config FILE (without it: the user",
        "config file, if it exists) < environment (INFUSION_CONSOLE_DB_URL) < command-line",
        "options.",
    ]
    if COMMANDS:
        lines += ["", "Headless subcommands (each has its own --help):"]
        lines += [f"  {name:<13} {help_}" for name, (_t, help_) in sorted(COMMANDS.items())]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The documented command line."""
    parser = OneLineParser(
        prog="infusion-console",
        description=(
            "Infusion Console: live vital-sign monitoring for IV ketamine infusion sessions. "
            "Without options it opens one chair fed by the built-in simulated monitor "
            "(labelled SIMULATED on screen) and stores into SQLite in the per-user data "
            "directory."
        ),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_line(),
        help="print the console's, Python's and Qt's versions and exit",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL, e.g. sqlite:////path/file.sqlite3 or "
        "postgresql+psycopg://user:pass@host/infusion (default: SQLite in the per-user data dir)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help=f"user TOML configuration file (default: {user_config_file()} if it exists)",
    )
    parser.add_argument(
        "--device",
        metavar="KIND",
        help="'sim' for the built-in simulator (default) or a driver kind: "
        + ", ".join(list_kinds())
        + " (or its protocol's name: "
        + ", ".join(protocol_names())
        + ")",
    )
    parser.add_argument(
        "--port",
        metavar="URL",
        help="pyserial URL of a real monitor: /dev/ttyUSB0, COM3, socket://host:port, "
        "spy:///dev/ttyUSB0, rfc2217://host:port (required with --device KIND)",
    )
    parser.add_argument("--baud", type=int, metavar="N", help="baud rate (default: the driver's)")
    parser.add_argument(
        "--chair", metavar="NAME", help="chair name shown and stored (default: Chair 1)"
    )
    parser.add_argument(
        "--profile",
        choices=SIM_PROFILES,
        help="simulated patient (default: routine)",
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="scripted simulator scenario: a built-in name (routine, hypertensive-surge, "
        "bradycardia, desaturation, sensor-off, cable-unplug, noisy-line, clock-jump) or a "
        ".toml file (resources/scenarios/README.md)",
    )
    parser.add_argument(
        "--protocol",
        choices=sim_protocols(),
        help="wire protocol of the simulated monitor (default: datex)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="simulator random seed (default: 1)")
    parser.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="simulated time acceleration, 1 = real time (default: 1)",
    )
    parser.add_argument(
        "--nibp-interval",
        type=float,
        metavar="S",
        help="simulated automatic NIBP cycle in seconds (default: 300)",
    )
    parser.add_argument(
        "--chairs",
        type=int,
        metavar="N",
        help=f"demo: N simulated chairs (1-{MAX_CHAIRS}) named Chair 1..Chair N, seeds "
        f"SEED..SEED+N-1, protocols {'/'.join(sim_protocols())} round-robin unless --protocol "
        "is given; replaces any [[chairs]] of --config; with N > 1 the window opens on the "
        "chairs overview (compact tiles, 8 to a row, above 16 chairs)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity on stderr (default: INFO)",
    )
    return parser


#: Each option that sets a configuration key: its ``args`` name, the key and the option as
#: written (named in the message when the schema refuses its value).
OPTION_KEYS: dict[str, tuple[str, str]] = {
    "db": ("storage.db_url", "--db"),
    "device": ("device.kind", "--device"),
    "port": ("device.url", "--port"),
    "baud": ("device.baud", "--baud"),
    "chair": ("chair.name", "--chair"),
    "profile": ("simulator.profile", "--profile"),
    "scenario": ("simulator.scenario", "--scenario"),
    "protocol": ("simulator.protocol", "--protocol"),
    "seed": ("simulator.seed", "--seed"),
    "speed": ("simulator.speed", "--speed"),
    "nibp_interval": ("simulator.nibp_interval_s", "--nibp-interval"),
}


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validated settings from parsed arguments (raises ConfigError)."""
    device_kind = args.device
    if args.port and not device_kind:
        raise ConfigError("--port needs --device KIND (the monitor's protocol)")
    demo_chairs = getattr(args, "chairs", None)
    if demo_chairs is not None and (args.device not in (None, "sim") or args.port):
        raise ConfigError("--chairs N simulates N chairs; it cannot be used with --device/--port")
    overrides = {key: getattr(args, dest, None) for dest, (key, _option) in OPTION_KEYS.items()}
    settings = load(
        args.config,
        overrides=overrides,
        option_names={key: option for key, option in OPTION_KEYS.values()},
    )
    if demo_chairs is not None:
        protocols = (settings.simulator.protocol,) if args.protocol else sim_protocols()
        settings = replace(
            settings, chairs=simulated_chairs(demo_chairs, settings.simulator, protocols=protocols)
        )
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    ``infusion-console SUBCOMMAND ...`` runs a headless subcommand (see
    :mod:`console.commands`); anything else starts the GUI.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return load_command(argv[0])(argv[1:])
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, log_dir=default_log_dir())
    install_excepthooks()
    try:
        settings = settings_from_args(args)
    except ConfigError as err:
        sys.stderr.write(f"infusion-console: configuration error: {err}\n")
        return 2
    try:
        parse_url(settings.db_url)  # before Qt and the migrations load: one line, at once
    except StorageConfigError as err:
        sys.stderr.write(f"infusion-console: database error: {err}\n")
        return 2

    missing = missing_platform_library(os.environ)
    if missing is not None:  # before Qt, which would abort without a word we could add
        sys.stderr.write(f"infusion-console: {missing}\n")
        return 2
    from PySide6.QtWidgets import QApplication

    from console.app import build_app, install_signal_handlers
    from console.ui.app_icon import install_app_icon
    from console.ui.theme import STYLE_SHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Infusion Console")
    install_app_icon(app)  # window/title-bar icon; ties the window to infusion-console.desktop
    app.setStyleSheet(STYLE_SHEET)
    try:
        console = build_app(settings)
    except StorageConfigError as err:
        sys.stderr.write(f"infusion-console: database error: {err}\n")
        return 2
    except SQLAlchemyError as err:
        sys.stderr.write(
            f"infusion-console: cannot open the database {describe_url(settings.db_url)}: {err}\n"
        )
        return 2
    install_signal_handlers(console)  # SIGTERM, Ctrl-C: see console.app
    console.window.showMaximized()  # the screen it fits (issue 11 item 1)
    code = app.exec()
    console.shutdown()
    return int(code)
