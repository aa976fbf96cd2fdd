"""The in-store terminal program (`python -m terminal`): the front desk, the chip card through
PC/SC and its SAM, the journal, the nightly sync. It imports nothing from the services; it
needs pyscard (pyproject's `terminal` dependency group), so the image leaves it out."""
