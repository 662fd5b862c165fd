"""Service functions: load from the database, compute with sop_core's math, store. Pages and CLI call these."""
