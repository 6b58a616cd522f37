"""Benchmarks: scripts run by hand (see the README), with shared load and reference helpers."""
