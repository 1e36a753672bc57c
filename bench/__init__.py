"""Benchmarks (`make bench`): figures printed beside their peers, never asserted by tests."""
