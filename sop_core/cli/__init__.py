"""The command line, ``python -m sop_core COMMAND``: :mod:`sop_core.cli.main` builds the parser."""
