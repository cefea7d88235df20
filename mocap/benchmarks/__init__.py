"""Benchmarks run by ``mocap bench NAME``, one module each, discovered by :mod:`mocap.commands.bench`.

A benchmark module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
``run`` prints a table of measured numbers (and ratios against peers measured in the same run).
Benchmarks never assert on wall time; the figures go to BENCHMARKS.md with the machine.
"""
