"""Fuzzing of the terminal edge against running services (``python -m bench.fuzz``, ``make
fuzz``): see ``bench/fuzz/__main__.py``. Not a benchmark of ``make bench``'s default list (it
lives in a package, not a bench/*.py module) and not in CI: a run lasts minutes."""
