"""The pure planning math: forecasting, inventory theory, the constrained plan, what-if, KPIs and triggers.

No database, no user interface, no file or network I/O: functions of numbers and DataFrames, usable from a
notebook. The services (:mod:`sop_core.services`) load their inputs and store their results.
"""
