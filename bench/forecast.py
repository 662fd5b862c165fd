"""Forecast accuracy and speed: our automatic engine against the usual peers, on real data and the demo company.

For each data set the last ``--holdout`` months (6) are hidden; every model is fitted on the rest in this
process, on the same cores (``--workers``, default 2), and scored on the hidden months:

* sMAPE — mean over series of mean(2|y − ŷ| / (|y| + |ŷ|)) (0/0 counts 0), a fraction in [0, 2];
* MASE — mean over series of MAE / mean|y_t − y_{t−12}| of the training data (series with a zero scale are
  left out);
* WMAPE — Σ|y − ŷ| / Σy over all series and months;
* wall time [s] of fit + forecast (for "auto" including its backtest and model choice);
* ratio of each figure to our automatic engine (> 1: worse / slower than ours);
* the coverage of auto's 80 % and 95 % intervals on the hidden months.

Peers: statsforecast AutoETS, AutoTheta, DynamicOptimizedTheta, AutoARIMA, SeasonalNaive (all with their
default settings, season length 12), the global LightGBM model alone (:mod:`sop_core.planning.forecast.ml`, with the
data set's price / promotion / event features when it has them), and Prophet with default settings. On
the data sets with prices and promotions (Stallion: prices, discounts, holidays and festivals; the demo:
promotions and net prices) Prophet with those as regressors and LightGBM without them are added.

Data (read from ../shared/data, see PROVENANCE.md): Stallion beverage volumes per agency × SKU (350 series,
60 months, with prices and events), Australian PBS prescriptions per concession × type × ATC2 (336 series,
204 months), car parts (intermittent; the first ``--carparts`` series with a 6-month test file, by id), and
the demo company (176 SKUs, 48 months, promotions and an event calendar). Nothing is tuned on the hidden
months: the engine's settings are fixed in its modules.

    .venv/bin/python bench/forecast.py [--quick] [--workers 2] [--sets stallion,pbs,carparts,demo]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sop_core.planning import accuracy as metrics  # noqa: E402
from sop_core.planning.forecast.auto import auto_forecast  # noqa: E402
from sop_core.planning.forecast.core import prepare_history  # noqa: E402
from sop_core.planning.forecast.ml import lightgbm_forecast  # noqa: E402
from sop_core.planning.forecast.prophet_engine import prophet_forecast  # noqa: E402

DATA = Path(os.environ.get("SOP_SHARED_DATA", ROOT.parent / "shared" / "data"))
FREQ = "MS"
SEASON = 12


# ---------------------------------------------------------------------------- data sets
class DataSet:
    """A long history with optional exogenous columns and event uplift."""

    def __init__(self, name: str, frame: pd.DataFrame, exog: list[str] | None = None,
                 uplift: pd.DataFrame | None = None, note: str = "", prophet_exog: list[str] | None = None):
        self.name, self.frame, self.exog, self.uplift, self.note = name, frame, exog or [], uplift, note
        self.prophet_exog = self.exog if prophet_exog is None else prophet_exog


def _subsample(frame: pd.DataFrame, n: int | None) -> pd.DataFrame:
    if not n:
        return frame
    ids = sorted(frame["unique_id"].unique())[:n]
    return frame[frame["unique_id"].isin(ids)]


def load_stallion(n: int | None) -> DataSet:
    raw = pd.read_csv(DATA / "stallion" / "sales.csv", parse_dates=["period"])
    events = ["easter_day", "good_friday", "new_year", "christmas", "labor_day", "independence_day",
              "revolution_day_memorial", "regional_games", "fifa_u_17_world_cup", "football_gold_cup",
              "beer_capital", "music_fest"]
    frame = pd.DataFrame({
        "unique_id": raw["agency"] + "/" + raw["sku"], "ds": raw["period"], "y": raw["volume"].clip(lower=0.0),
        "price": raw["price_actual"], "discount": raw["discount_in_percent"],
        "events": raw[events].sum(axis=1).astype(float),
    })
    return DataSet("stallion", _subsample(frame, n), ["price", "discount", "events"], note="price, discount %, events")


def load_pbs(n: int | None) -> DataSet:
    raw = pd.read_csv(DATA / "retail" / "pbs.csv", parse_dates=["period"])
    frame = pd.DataFrame({"unique_id": raw["concession"] + "/" + raw["type"] + "/" + raw["atc2"],
                          "ds": raw["period"], "y": raw["scripts"].astype(float).clip(lower=0.0)})
    frame = frame.groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    return DataSet("pbs", _subsample(frame, n))


def load_carparts(n: int | None) -> DataSet:
    train = pd.read_csv(DATA / "carparts" / "train.csv", parse_dates=["ds"])
    test = pd.read_csv(DATA / "carparts" / "test.csv", parse_dates=["ds"])
    both = pd.concat([train, test], ignore_index=True)
    both = both[both["unique_id"].isin(set(test["unique_id"]))]
    both["unique_id"] = both["unique_id"].astype(str)
    both["y"] = both["y"].astype(float).clip(lower=0.0)
    return DataSet("carparts", _subsample(both, n), note=f"first {n} series by id" if n else "")


def load_demo(n: int | None) -> DataSet:
    from sop_core.io import demo
    from sop_core.services.forecasting import event_uplift

    data = demo.generate()
    sales = data["sales_history"]
    frame = pd.DataFrame({"unique_id": sales["sku"].astype(str), "ds": pd.to_datetime(sales["period"]),
                          "y": sales["quantity"].astype(float), "promo": sales["promo"].astype(float),
                          "price": sales["net_price"].astype(float)})
    frame = _subsample(frame, n)
    uplift = event_uplift(data["event"], data["product"], sorted(frame["unique_id"].unique()))
    # the demo's net price moves only with its promotions (plus noise): Prophet's linear regressors get the
    # promotion flag alone, LightGBM both
    return DataSet("demo", frame, ["promo", "price"], uplift=uplift, note="promo, price, event calendar",
                   prophet_exog=["promo"])


LOADERS: dict[str, Callable[[int | None], DataSet]] = {
    "stallion": load_stallion, "pbs": load_pbs, "carparts": load_carparts, "demo": load_demo,
}


# ---------------------------------------------------------------------------- models
def _statsforecast(model: object, train: pd.DataFrame, h: int, workers: int) -> pd.DataFrame:
    from statsforecast import StatsForecast

    sf = StatsForecast(models=[model], freq=FREQ, n_jobs=workers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sf.forecast(df=train[["unique_id", "ds", "y"]], h=h)
    col = [c for c in out.columns if c not in ("unique_id", "ds")][0]
    return out.rename(columns={col: "yhat"})[["unique_id", "ds", "yhat"]]


def run_models(ds: DataSet, h: int, workers: int, skip: set[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, float], dict[int, float]]:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, DynamicOptimizedTheta, SeasonalNaive

    full = prepare_history(ds.frame[["unique_id", "ds", "y"]], FREQ)
    if ds.exog:
        ex = ds.frame[["unique_id", "ds", *ds.exog]]
        full = full.merge(ex, on=["unique_id", "ds"], how="left")
        full[ds.exog] = full.groupby("unique_id")[ds.exog].ffill().fillna(0.0)
    last = full["ds"].max()
    cutoff = last - pd.DateOffset(months=h)
    train, test = full[full["ds"] <= cutoff], full[full["ds"] > cutoff]
    train = train[train.groupby("unique_id")["y"].transform("size") > SEASON + 1]
    test = test[test["unique_id"].isin(set(train["unique_id"]))]
    fut = test[["unique_id", "ds", *ds.exog]] if ds.exog else None
    preds: dict[str, pd.DataFrame] = {}
    times: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], pd.DataFrame]) -> None:
        if name in skip:
            return
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        preds[name] = out[["unique_id", "ds", "yhat"]]
        print(f"  {name:<26} {times[name]:8.1f} s", flush=True)

    auto_out: dict[str, object] = {}

    def auto() -> pd.DataFrame:
        res = auto_forecast(train, h, FREQ, (80, 95), exog_cols=ds.exog, future_exog=fut, uplift=ds.uplift, n_jobs=workers)
        auto_out["res"] = res
        return res.forecast

    timed("auto (ours)", auto)
    timed("AutoETS", lambda: _statsforecast(AutoETS(season_length=SEASON), train, h, workers))
    timed("AutoTheta", lambda: _statsforecast(AutoTheta(season_length=SEASON), train, h, workers))
    timed("DynamicOptimizedTheta", lambda: _statsforecast(DynamicOptimizedTheta(season_length=SEASON), train, h, workers))
    timed("AutoARIMA", lambda: _statsforecast(AutoARIMA(season_length=SEASON), train, h, workers))
    timed("SeasonalNaive", lambda: _statsforecast(SeasonalNaive(season_length=SEASON), train, h, workers))

    def lgbm(features: bool) -> pd.DataFrame:
        tr = train
        exog = list(ds.exog) if features else []
        f = fut if features else None
        if features and ds.uplift is not None:
            u = ds.uplift.set_index(["unique_id", "ds"])["uplift"]
            tr = tr.assign(event_uplift=pd.Series(list(zip(tr["unique_id"], tr["ds"], strict=True))).map(u).fillna(0.0).to_numpy())
            f = (f if f is not None else test[["unique_id", "ds"]]).copy()
            f["event_uplift"] = pd.Series(list(zip(f["unique_id"], f["ds"], strict=True))).map(u).fillna(0.0).to_numpy()
            exog.append("event_uplift")
        out = lightgbm_forecast(tr, h, FREQ, exog_cols=exog, future_exog=f)
        return out.rename(columns={"LightGBM": "yhat"})

    timed("LightGBM" + (" + features" if ds.exog or ds.uplift is not None else ""), lambda: lgbm(True))
    if ds.exog or ds.uplift is not None:
        timed("LightGBM, no features", lambda: lgbm(False))
    timed("Prophet", lambda: prophet_forecast(train, h, FREQ, intervals=False, n_jobs=workers))
    if ds.exog:
        pex = ds.prophet_exog
        timed("Prophet + regressors",
              lambda: prophet_forecast(train, h, FREQ, regressors=pex, future_exog=test[["unique_id", "ds", *pex]],
                                       intervals=False, n_jobs=workers))
    coverage: dict[int, float] = {}
    if "res" in auto_out:
        fc = auto_out["res"].forecast.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"])  # type: ignore[attr-defined]
        for lv in (80, 95):
            coverage[lv] = float(((fc["y"] >= fc[f"yhat_lo_{lv}"] - 1e-9) & (fc["y"] <= fc[f"yhat_hi_{lv}"] + 1e-9)).mean())
    return train, preds, times, coverage


def score(train: pd.DataFrame, test_pred: pd.DataFrame) -> tuple[float, float, float]:
    """(sMAPE, MASE, WMAPE) of one model's holdout forecasts ``unique_id, ds, y, yhat``."""
    sm, ms = [], []
    hist = {k: g["y"].to_numpy(dtype=float) for k, g in train.groupby("unique_id")}
    for uid, g in test_pred.groupby("unique_id"):
        y, f = g["y"].to_numpy(dtype=float), g["yhat"].to_numpy(dtype=float)
        sm.append(float(metrics.smape(y, f)))
        tr = hist[uid]
        if len(tr) > SEASON:
            with np.errstate(all="ignore"):
                v = metrics.mase(y, f, tr, season=SEASON)
            if v is not None and np.isfinite(v):
                ms.append(float(v))
    y, f = test_pred["y"].to_numpy(dtype=float), test_pred["yhat"].to_numpy(dtype=float)
    return float(np.mean(sm)), float(np.mean(ms)), float(np.abs(y - f).sum() / y.sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 series per data set (development only)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--holdout", type=int, default=6, help="hidden months (6 or 12)")
    ap.add_argument("--sets", default="stallion,pbs,carparts,demo")
    ap.add_argument("--carparts", type=int, default=1000, help="car parts series used by every model (0 = all)")
    ap.add_argument("--skip", default="", help="comma-separated models to leave out (model@set: only on that set)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, holdout: {args.holdout} months")
    for name in args.sets.split(","):
        n = 40 if args.quick else (args.carparts or None if name == "carparts" else None)
        ds = LOADERS[name](n)
        nser = ds.frame["unique_id"].nunique()
        print(f"\n== {name}: {nser} series{' (' + ds.note + ')' if ds.note else ''}", flush=True)
        here = {k.split("@")[0] for k in skip if "@" not in k or k.split("@")[1] == name}
        train, preds, times, coverage = run_models(ds, args.holdout, args.workers, here)
        full = prepare_history(ds.frame[["unique_id", "ds", "y"]], FREQ)
        test = full[full["ds"] > train["ds"].max()]
        test = test[test["unique_id"].isin(set(train["unique_id"]))]
        rows = []
        for model, p in preds.items():
            got = test.merge(p, on=["unique_id", "ds"], how="left")
            got["yhat"] = got["yhat"].fillna(0.0).clip(lower=0.0)
            s, m, w = score(train, got)
            rows.append({"model": model, "smape": s, "mase": m, "wmape": w, "seconds": times[model]})
        table = pd.DataFrame(rows)
        ref = table[table["model"] == "auto (ours)"].iloc[0] if "auto (ours)" in set(table["model"]) else None
        print(f"{'model':<26}{'sMAPE':>8}{'MASE':>8}{'WMAPE':>8}{'time s':>9}   ratio to auto: sMAPE  MASE  WMAPE  time")
        for r in table.itertuples():
            line = f"{r.model:<26}{r.smape:8.4f}{r.mase:8.4f}{r.wmape:8.4f}{r.seconds:9.1f}"
            if ref is not None:
                line += (f"   {r.smape / ref['smape']:20.3f}{r.mase / ref['mase']:6.3f}{r.wmape / ref['wmape']:7.3f}"
                         f"{r.seconds / ref['seconds']:6.2f}")
            print(line)
        if ref is not None:
            peers = table[~table["model"].isin(["auto (ours)"])]
            singles = peers[~peers["model"].str.contains("no features")]
            beats = (singles["smape"] > ref["smape"]).all() and (singles["mase"] > ref["mase"]).all()
            ets = table.loc[table["model"] == "AutoETS", "seconds"]
            print(f"auto beats every peer on sMAPE and MASE: {'yes' if beats else 'NO'}; "
                  f"time auto / AutoETS: {ref['seconds'] / ets.iloc[0]:.2f}" if len(ets) else "")
        if coverage:
            print("auto interval coverage on the hidden months: " + ", ".join(f"{lv} %: {100 * c:.1f} %" for lv, c in coverage.items()))
        if "Prophet + regressors" in set(table["model"]):
            t = table.set_index("model")
            print(f"Prophet + regressors vs plain: sMAPE {t.loc['Prophet + regressors', 'smape']:.4f} vs "
                  f"{t.loc['Prophet', 'smape']:.4f}, MASE {t.loc['Prophet + regressors', 'mase']:.4f} vs {t.loc['Prophet', 'mase']:.4f}")
        lg = [m for m in table["model"] if m.startswith("LightGBM +")]
        if lg and "LightGBM, no features" in set(table["model"]):
            t = table.set_index("model")
            print(f"LightGBM + features vs without: sMAPE {t.loc[lg[0], 'smape']:.4f} vs {t.loc['LightGBM, no features', 'smape']:.4f}, "
                  f"MASE {t.loc[lg[0], 'mase']:.4f} vs {t.loc['LightGBM, no features', 'mase']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
