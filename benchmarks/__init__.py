"""tapecheck's performance measurements: `python -m benchmarks [--quick] [NAME ...]` (see docs/benchmarks.md)."""
