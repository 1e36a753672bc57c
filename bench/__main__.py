"""`make bench` entry point. The benchmarks themselves are built with the scale work."""

import sys

print("No benchmarks yet: the scale work (PostgreSQL, several workers) adds them.", file=sys.stderr)
