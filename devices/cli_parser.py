"""The argument parser of every command line: a usage error is one line and exit code 2.

argparse prints the whole usage block before its error; a QA script or a technician then
has to dig the reason out of several lines.  Here the reason is the line, and ``--help``
still shows the usage.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

#: The exit code of every bad input (argparse's own, kept).
EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` whose errors are one line (subparsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message (see --help)`` on stderr and exit with 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")
