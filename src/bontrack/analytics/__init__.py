"""Analytics: pure computations on data frames and arrays (no database, no web framework).

Modules import numpy/scipy/pandas at their top, so the CLI imports them only inside the commands
that need them.
"""
