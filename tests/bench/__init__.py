"""The benchmark's parts: state repos to measure (generate), the lean baseline (lean), and
whole-process measurement (measure). `python tests/benchmark.py` runs them."""
