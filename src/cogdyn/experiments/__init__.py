"""Sweeps of runs over paradigm × δ × seed × task settings: files, executors, results and
statistics (see ``docs/sweeps.md``)."""
