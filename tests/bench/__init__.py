"""Benchmarks: not collected by the test run; `make bench` runs them all."""
