"""The ``mocap`` command: the contract for headless use.

Subcommands live in :mod:`mocap.commands`, one module each, found at start-up. Every subcommand
exits 0 on success and 2 with a one-line ``mocap: error: ...`` message on bad input (any
:class:`~mocap.errors.MocapError`); 130 when interrupted. Heavy modules are imported inside the
commands so ``mocap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mocap import __version__
from mocap.errors import MocapError
from mocap.plugins import discover


def build_parser() -> argparse.ArgumentParser:
    import mocap.commands

    parser = argparse.ArgumentParser(
        prog="mocap",
        description="Multi-view 3D motion capture: calibrate, capture, reconstruct, export.",
    )
    parser.add_argument("--version", action="version", version=f"mocap-studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in discover(mocap.commands, group="mocap.commands"):
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except MocapError as exc:
        print(f"mocap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mocap: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
