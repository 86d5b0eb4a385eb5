"""Benchmarks: measured goals, never timed tests. Each writes its section of BENCHMARKS.md."""
