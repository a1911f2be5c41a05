"""Analytics: pure computations on data frames and arrays; no database, no web.

Modules import numpy/scipy at their top, so import them only inside the commands that need them.
"""
