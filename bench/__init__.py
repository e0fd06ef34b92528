"""Benchmarks: a seeder, a load driver, the hand-written floor and the fan-out measurement."""
