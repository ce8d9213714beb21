"""Synthetic allocation cycles at city and province scale, deterministic by seed, shaped like real order books."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fixtures.retailers import TIER_PERCENT  # share of retailers per tier 1..30, as the city generator uses


@dataclass(frozen=True)
class Shape:
    """What a cycle looks like: how many retailers and specs, how much is short and how often caps bind."""

    retailers: int
    specs: int = 400
    lines_per_retailer: float = 20.0
    short_spec_share: float = 0.30
    capped_share: float = 0.20
    zero_supply_specs: int = 2
    specs_missing_from_supply: int = 1
    zero_cap_share: float = 0.001
    zero_line_share: float = 0.005


@dataclass(frozen=True)
class ZipfShape:
    """A second shape, made the way a newcomer would: specs drawn by Zipf popularity, a share of them short by
    anything from 5 % to 95 %, every cap drawn from 50 % to 140 % of the retailer's order, rows shuffled."""

    retailers: int
    specs: int = 900
    lines_per_retailer: float = 20.0
    short_spec_share: float = 0.30
    supply_of_demand: tuple[float, float] = (0.05, 0.95)
    cap_of_order: tuple[float, float] = (0.50, 1.40)
    zipf_exponent: float = 1.0


SCALES = {"city": Shape(retailers=30_000), "province": Shape(retailers=400_000),
          "city-zipf": ZipfShape(retailers=30_000, specs=400), "province-zipf": ZipfShape(retailers=400_000)}


def _tiers(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.arange(1, 31), size=n, p=TIER_PERCENT / TIER_PERCENT.sum())


def instance(shape: Shape | str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Demand, supply and caps frames of one cycle (rows grouped by retailer, lines in entry order)."""
    shape = SCALES[shape] if isinstance(shape, str) else shape
    rng = np.random.default_rng(seed)
    n_r, n_s = shape.retailers, shape.specs
    tier = _tiers(rng, n_r)
    # spec popularity: a few national brands dominate (Zipf-like), in a random code order
    pop = 1.0 / (np.arange(n_s) + 5.0) ** 1.1
    pop = rng.permutation(pop / pop.sum())
    cdf = np.cumsum(pop)
    wanted = np.clip(rng.poisson(shape.lines_per_retailer * (0.6 + tier / 38.0)), 2, 60)
    draws = np.repeat(np.arange(n_r), (wanted * 1.25).astype(np.int64) + 1)
    spec = np.minimum(np.searchsorted(cdf, rng.random(len(draws)) * cdf[-1]), n_s - 1)
    key = np.unique(draws.astype(np.int64) * n_s + spec)
    ret, spec = key // n_s, key % n_s
    # keep at most `wanted` lines per retailer, in a random entry order
    shuffle = np.lexsort((rng.random(len(ret)), ret))
    ret, spec = ret[shuffle], spec[shuffle]
    start = np.searchsorted(ret, np.arange(n_r))
    place = np.arange(len(ret)) - start[ret]
    keep = place < wanted[ret]
    ret, spec = ret[keep], spec[keep]
    lam = 0.4 + tier[ret] / 9.0 + 60.0 * pop[spec]
    qty = 1 + rng.poisson(lam)
    big = rng.random(len(qty)) < 0.002
    qty[big] = np.minimum(10_000, qty[big] * rng.integers(5, 40, int(big.sum())))
    qty[rng.random(len(qty)) < shape.zero_line_share] = 0

    demand_by_spec = np.bincount(spec, weights=qty, minlength=n_s)
    demand_by_ret = np.bincount(ret, weights=qty, minlength=n_r)
    supply = np.ceil(demand_by_spec * rng.uniform(1.0, 1.25, n_s)).astype(np.int64)
    short = rng.permutation(n_s)[: round(shape.short_spec_share * n_s)]
    supply[short] = np.floor(demand_by_spec[short] * rng.uniform(0.55, 0.95, len(short))).astype(np.int64)
    supply[short[: shape.zero_supply_specs]] = 0
    in_supply = np.ones(n_s, bool)
    in_supply[short[shape.zero_supply_specs: shape.zero_supply_specs + shape.specs_missing_from_supply]] = False

    cap = (demand_by_ret + np.ceil(demand_by_ret * rng.uniform(0.0, 0.3, n_r))).astype(np.int64)
    capped = rng.random(n_r) < shape.capped_share
    cap[capped] = np.floor(demand_by_ret[capped] * rng.uniform(0.6, 0.95, int(capped.sum()))).astype(np.int64)
    cap[rng.random(n_r) < shape.zero_cap_share] = 0
    weight = np.where(tier >= 24, 1.25, np.where(tier <= 4, 0.85, 1.0))

    rid = pd.Series(np.arange(n_r) * 7 + 1000).map("{:012d}".format).to_numpy(dtype=object)
    sid = pd.Series(6901028000000 + np.arange(n_s) * 37).map(str).to_numpy(dtype=object)
    demand = pd.DataFrame({"retailer_id": rid[ret], "brand_code": sid[spec], "quantity": qty})
    supply_df = pd.DataFrame({"brand_code": sid[in_supply], "quantity": supply[in_supply]})
    caps = pd.DataFrame({"retailer_id": rid, "cap": cap, "weight": weight})
    return demand, supply_df, caps


def zipf_instance(shape: ZipfShape, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Demand, supply and caps frames of a ZipfShape cycle, rows in random order, no weights."""
    rng = np.random.default_rng(seed + 7919)
    n_r, n_s = shape.retailers, shape.specs
    pop = 1.0 / np.arange(1, n_s + 1) ** shape.zipf_exponent
    cdf = np.cumsum(rng.permutation(pop / pop.sum()))
    wanted = np.clip(rng.poisson(shape.lines_per_retailer, n_r), 1, n_s)
    draws = np.repeat(np.arange(n_r, dtype=np.int64), 2 * wanted)
    key = np.unique(draws * n_s + np.minimum(np.searchsorted(cdf, rng.random(len(draws)) * cdf[-1]), n_s - 1))
    ret, spec = key // n_s, key % n_s
    place = np.arange(len(ret)) - np.searchsorted(ret, np.arange(n_r))[ret]
    keep = place < wanted[ret]
    ret, spec = ret[keep], spec[keep]
    qty = 1 + rng.geometric(0.25, len(ret)) + rng.poisson(3.0, len(ret))
    by_spec = np.bincount(spec, weights=qty, minlength=n_s)
    by_ret = np.bincount(ret, weights=qty, minlength=n_r)
    supply = np.ceil(by_spec * rng.uniform(1.0, 1.3, n_s)).astype(np.int64)
    short = rng.permutation(n_s)[: round(shape.short_spec_share * n_s)]
    supply[short] = np.floor(by_spec[short] * rng.uniform(*shape.supply_of_demand, len(short))).astype(np.int64)
    cap = np.floor(by_ret * rng.uniform(*shape.cap_of_order, n_r)).astype(np.int64)
    rid = pd.Series(np.arange(n_r) * 13 + 5_300_000).map("{:012d}".format).to_numpy(dtype=object)
    sid = pd.Series(6_901_028_100_000 + np.arange(n_s) * 11).map(str).to_numpy(dtype=object)
    order = rng.permutation(len(ret))
    demand = pd.DataFrame({"retailer_id": rid[ret[order]], "brand_code": sid[spec[order]], "quantity": qty[order]})
    supply_df = pd.DataFrame({"brand_code": sid, "quantity": supply}).sample(frac=1.0, random_state=seed)
    caps = pd.DataFrame({"retailer_id": rid, "cap": cap}).sample(frac=1.0, random_state=seed)
    return demand, supply_df, caps


def write_instance(directory: Path, shape: Shape | str, seed: int = 0) -> dict[str, Path]:
    """The instance as the three CSV files the command reads, written once and reused."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {k: directory / f"{k}.csv" for k in ("demand", "supply", "caps")}
    shape = SCALES[shape] if isinstance(shape, str) else shape
    make = zipf_instance if isinstance(shape, ZipfShape) else instance
    # the stamp names the shape as well as the seed, so editing a Shape never reuses stale files
    stamp = directory / f".seed-{seed}-{zlib.crc32(repr(shape).encode()):08x}"
    if not (stamp.exists() and all(p.exists() for p in paths.values())):
        demand, supply, caps = make(shape, seed)
        demand.to_csv(paths["demand"], index=False)
        supply.to_csv(paths["supply"], index=False)
        caps.to_csv(paths["caps"], index=False, float_format="%.2f")
        for old in directory.glob(".seed-*"):
            old.unlink()
        stamp.touch()
    return paths
