"""Generate sample_data/tanks.csv: several tanks, hourly pressure and temperature.

A small physical toy, reproducible (fixed seed): ambient temperature follows a daily
cycle and a slow weather drift; each tank's gas temperature lags the ambient one; the
gas mass changes with fills and draws; pressure follows the ideal gas law, p ~ m * T.
Run: python scripts/make_tanks.py [--tanks 4] [--days 60] [--out sample_data/tanks.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def make_tanks(tanks: int = 4, days: int = 60, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = days * 24
    time = pd.date_range("2024-03-01", periods=hours, freq="h")
    t = np.arange(hours)
    weather = np.cumsum(rng.normal(0, 0.15, hours))  # slow random drift, degrees
    weather -= np.linspace(0, weather[-1], hours)  # no net drift over the period
    ambient = 12 + 6 * np.sin(2 * np.pi * (t - 9) / 24) + weather
    frames = []
    for k in range(tanks):
        name = f"Tank {chr(ord('A') + k)}"
        lag = 0.15 + 0.05 * k  # how fast the tank follows the ambient temperature
        temp = np.empty(hours)
        temp[0] = ambient[0]
        for i in range(1, hours):
            temp[i] = temp[i - 1] + lag * (ambient[i] - temp[i - 1]) + rng.normal(0, 0.05)
        # Gas mass: a steady draw during working hours, a refill every few days.
        working = ((t % 24 >= 7) & (t % 24 < 19)).astype(float)
        draw = 0.004 * (1 + 0.3 * k) * working
        mass = np.empty(hours)
        mass[0] = 1.0
        for i in range(1, hours):
            mass[i] = mass[i - 1] - draw[i]
            if mass[i] < 0.45 + 0.05 * k:
                mass[i] = 1.0
        pressure = 8.0 * mass * (temp + 273.15) / 285.0 + rng.normal(0, 0.01, hours)
        frames.append(
            pd.DataFrame({"time": time, "tank": name, "pressure": pressure.round(4), "temperature": temp.round(3)})
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tanks", type=int, default=4)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "sample_data" / "tanks.csv")
    a = ap.parse_args()
    df = make_tanks(a.tanks, a.days, a.seed)
    df.to_csv(a.out, index=False)
    print(f"wrote {len(df)} rows ({a.tanks} tanks x {a.days * 24} hours) to {a.out}")


if __name__ == "__main__":
    main()
