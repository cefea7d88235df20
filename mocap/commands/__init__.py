"""Subcommands of ``mocap``, one module each, discovered by :mod:`mocap.cli`.

A command module defines::

    NAME = "demo"                      # the subcommand
    HELP = "one line for mocap --help"
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...   # exit status; raise MocapError on bad input

Modules import heavy libraries (torch, cv2, Qt) inside ``run`` only, so ``mocap --help`` stays fast.
"""
