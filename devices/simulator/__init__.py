"""Simulated monitors that emit real protocol bytes (QA, demos and tests)."""
