"""`python -m sop_core elasticity`: the own-price elasticity per product family, learned from the sales history."""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, Any

from sop_core.cli.common import open_engine, print_frame

if TYPE_CHECKING:
    import pandas as pd

MODEL = ("log-log demand per family: SKU fixed effects, month-of-year dummies, promotion dummy, trend; "
         "rows with quantity or net price ≤ 0 left out")


def _number(value: Any, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(float(value), digits)


def as_json(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{family: {elasticity, std_error, n, used, value_used, reason}}`` (NaN → null)."""
    return {
        r.family: {
            "elasticity": _number(r.elasticity),
            "std_error": _number(r.std_error),
            "n": int(r.n),
            "used": bool(r.used),
            "value_used": _number(r.value_used),
            "reason": r.reason,
        }
        for r in frame.itertuples(index=False)
    }


def cmd_elasticity(args: argparse.Namespace) -> int:
    from sop_core.services.pricing import family_elasticities

    frame = family_elasticities(open_engine())
    if args.format == "json":
        print(json.dumps(as_json(frame), indent=2, ensure_ascii=False))
        return 0
    if frame.empty:
        print("no product families: import product and sales_history first")
        return 0
    print(f"own-price elasticity ({MODEL})")
    numbers = ["elasticity", "std_error", "value_used"]
    print_frame(frame.assign(**{c: frame[c].round(3) for c in numbers}))
    pooled = frame.attrs.get("pooled") or {}
    if pooled:
        e, se = pooled["elasticity"], pooled["std_error"]
        figure = f"{e:+.3f} ± {se:.3f} ({pooled['se_type']})" if math.isfinite(e) else "not estimable"
        print(f"all families pooled: {figure}, n {pooled['n']}, "
              + ("used as the fallback" if pooled["used"] else f"not used: {pooled['reason']}"))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's commands to the parser's subcommands."""
    p = sub.add_parser(
        "elasticity",
        help="the own-price elasticity per product family, estimated from the sales history",
        description=(
            "Estimate the own-price elasticity e (demand × (1 + price change)^e) of every product family from "
            f"the sales history ({MODEL}). Where the data cannot support an estimate, the estimate over all "
            "families is used, else 0; the reason column says why."
        ),
    )
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="table (default) or json: {family: {elasticity, std_error, n, used, value_used, reason}}")
    p.set_defaults(func=cmd_elasticity)
