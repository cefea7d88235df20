"""``mocap bench NAME``: run a benchmark from :mod:`mocap.benchmarks` and print its table."""

from __future__ import annotations

import argparse

from mocap.plugins import discover

NAME = "bench"
HELP = "run a benchmark and print measured numbers (mocap bench --help lists them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import mocap.benchmarks

    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    sub.required = True
    for module in discover(mocap.benchmarks):
        bench = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(bench)
        bench.set_defaults(bench_run=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args.bench_run(args))
