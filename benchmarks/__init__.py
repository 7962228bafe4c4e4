"""Benchmarks, run by ``make bench``. Each module ``bench_*.py`` has ``main() -> None``."""
