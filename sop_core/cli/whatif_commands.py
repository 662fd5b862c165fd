"""`python -m sop_core whatif`: the cycle's plan under what-if levers, from a script.

The levers are those of :func:`sop_core.services.whatif.levers_from`, given as ``--set NAME=VALUE`` (repeatable):

* numbers: ``demand_change_pct=10``, ``price_change_pct=5``, ``lead_time_change_days=14``, ``cost_change_pct=3``,
  ``cover_months=0.5``, ``frozen_periods=2``, ``overtime_cost_change_pct=20``, ``fill_rate_target=0.97``,
  ``cycle_service_level=0.98``;
* ``price_elasticity=-1.5`` (every family) or ``price_elasticity=learned`` (each family's own, the default);
* ``overtime_allowed=false``;
* ``demand_from=2026-12``, ``demand_to=2027-02``;
* per key, comma-separated ``KEY:PCT``: ``family_changes=GRILLS:8,COFFEE:-5``, ``sku_changes=KA-1007:20``,
  ``capacity_changes=ULM-ESP:-20``; ``capacity_change_pct=-20`` changes every resource;
* ``supplier_disruptions=BRIGHTWAY:2026-11:2027-01`` (also ``supplier_out=…``; several joined by commas).

Figures: :meth:`sop_core.services.whatif.WhatIf.breakdown` in total, per family and per SKU, and the units bought from
each supplier.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import pandas as pd

from sop_core.cli.common import open_engine, print_frame, solver_chatter_to_stderr
from sop_core.services import whatif
from sop_core.services.cycle import current_cycle, cycle_by_month
from sop_core.services.whatif import LeverError

#: Names accepted by ``--set`` beyond the lever names of :data:`sop_core.services.whatif.LEVER_FIELDS`.
ALIASES = {"supplier_out": "supplier_disruptions", "capacity_change_pct": "capacity_changes"}
_PCT_MAPS = ("family_changes", "sku_changes", "capacity_changes")


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LeverError(f"lever {name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise LeverError(f"lever {name}: {text!r} is not a finite number")
    return value


def _pct_map(name: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, pct = part.rpartition(":")
        if not sep or not key:
            raise LeverError(f"lever {name}: {part!r} is not KEY:PCT (e.g. {name}=GRILLS:8)")
        out[key] = _number(name, pct)
    return out


def _windows(name: str, text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        bits = part.split(":")
        if len(bits) != 3 or not all(bits):
            raise LeverError(f"lever {name}: {part!r} is not SUPPLIER:FIRST:LAST (e.g. BRIGHTWAY:2026-11:2027-01)")
        out[bits[0]] = [bits[1], bits[2]]
    return out


def parse_levers(settings: list[str], resources: list[str]) -> Any:
    """Levers from ``NAME=VALUE`` texts (the baseline for every lever not named), as
    :func:`sop_core.services.whatif.levers_from` makes them.

    Raises:
        LeverError: an unknown name, a malformed value or a value out of the lever's range.
    """
    fields = set(whatif.LEVER_FIELDS)
    values: dict[str, Any] = {}
    for setting in settings:
        name, sep, text = setting.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise LeverError(f"--set {setting!r}: expected NAME=VALUE, e.g. demand_change_pct=10")
        target = ALIASES.get(name, name)
        if target not in fields:
            known = ", ".join(sorted(fields | set(ALIASES)))
            raise LeverError(f"unknown lever {name!r}; known: {known}")
        if name == "capacity_change_pct":
            pct = _number(name, text)
            values.setdefault("capacity_changes", {}).update({r: pct for r in resources})
        elif target in _PCT_MAPS:
            values.setdefault(target, {}).update(_pct_map(name, text))
        elif target == "supplier_disruptions":
            values.setdefault(target, {}).update(_windows(name, text))
        elif target == "overtime_allowed":
            if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise LeverError(f"lever overtime_allowed: {text!r} is not true or false")
            values[target] = text.lower() in ("true", "yes", "1")
        elif target == "price_elasticity" and text.lower() in ("learned", "none", ""):
            values[target] = None
        elif target in ("demand_from", "demand_to"):
            values[target] = text
        elif target == "frozen_periods":
            number = _number(name, text)
            if number != int(number):
                raise LeverError(f"lever frozen_periods: {text!r} is not a whole number of months")
            values[target] = int(number)
        else:
            values[target] = _number(name, text)
    return whatif.levers_from(values)


def _records(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {str(k): {c: round(float(v), 6) for c, v in row.items()} for k, row in frame.iterrows()}


def report(what: whatif.WhatIf) -> dict[str, Any]:
    """``{"total": {...}, "families": {family: {...}}, "skus": {sku: {...}}}`` (figures of
    :meth:`sop_core.services.whatif.WhatIf.breakdown`); the total also has ``suppliers`` → ``{supplier: {"supplied_units"}}``
    and ``levers``, the scenario in words."""
    total: dict[str, Any] = dict(_records(what.breakdown("total"))["total"])
    total["suppliers"] = {
        str(s): {"supplied_units": round(float(q), 6)} for s, q in what.result.supplier_units.items()
    }
    total["levers"] = what.described
    return {
        "total": total,
        "families": _records(what.breakdown("family")),
        "skus": _records(what.breakdown("sku")),
    }


def cmd_whatif(args: argparse.Namespace) -> int:
    try:  # the levers are checked before anything is read (a resource list only names what they act on)
        parse_levers(args.set or [], resources=[])
    except LeverError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    engine = open_engine()
    cycle = cycle_by_month(engine, args.cycle) if args.cycle else current_cycle(engine)
    inputs = whatif.load_inputs(engine, cycle.id)
    levers = parse_levers(args.set or [], whatif.lever_choices(inputs).resources)
    with solver_chatter_to_stderr():
        what = whatif.evaluate(inputs, levers)
        out = report(what)
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"cycle {cycle.label}: {out['total']['levers']}")
    table = what.breakdown("family").reset_index()
    table.loc[len(table)] = ["total", *what.breakdown("total").iloc[0].tolist()]
    shown = table.assign(**{c: table[c].round(4 if "rate" in c else 0) for c in table.columns[1:]})
    print_frame(shown)
    if out["total"]["suppliers"]:
        print("bought per supplier: " + ", ".join(
            f"{s} {v['supplied_units']:,.0f}" for s, v in sorted(out["total"]["suppliers"].items())))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "whatif",
        help="the current plan under what-if levers (--set NAME=VALUE …), in total, per family and per SKU",
        description=__doc__.split("\n\n", 1)[1].split("\nFigures")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="a lever, e.g. demand_change_pct=10")
    p.add_argument("--cycle", metavar="YYYY-MM", help="the plan cycle (default: the current one)")
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help='table (default) or json: {"total", "families", "skus"} with the figures of each')
    p.set_defaults(func=cmd_whatif)
