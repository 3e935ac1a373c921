"""Many series at forecast time: series are forecast in batches, with the same numbers as all at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from seqcast import forecast as fc
from seqcast.config import load_config
from seqcast.data import load_dataset
from seqcast.pipeline import train_run
from seqcast.run import load_run


@pytest.mark.parametrize("mode", ["lookback", "stateful"])
def test_series_batches_give_the_numbers_of_one_batch(
    mode: str, tmp_path: Path, write_project: Callable[..., Path], index_csv: Callable[..., str]
) -> None:
    names = [f"s{i}" for i in range(5)]
    extra = {"windows": {"mode": mode, "num_steps": 4, "streams": 1}} if mode == "stateful" else {}
    model = {"model": {"units": [4], "kind": "many_to_many" if mode == "stateful" else "many_to_one"}}
    cfg_path = write_project(
        csv=index_csv(30, names),
        data={"series_column": "s", "scaler": "standard"},
        training={"epochs": 1, "batch_size": 8},
        **model,
        **extra,
    )
    run_dir = train_run(load_config(cfg_path), output_dir=tmp_path / "run").run_dir
    run = load_run(run_dir)
    ds = load_dataset(run.cfg.data)
    hist = [s.values for s in ds.series]
    whole = fc.forecast_histories(run, hist, ds.names, 7)
    batched = fc.forecast_histories(run, hist, ds.names, 7, series_batch=2)
    assert whole.shape == (5, 7, 1)
    # the engine computes in float32, as Keras does: a batch of one row may round differently in BLAS than a
    # batch of several (a unit in the last place), and nothing more
    np.testing.assert_allclose(batched, whole, rtol=1e-6, atol=0)
    # each series' forecast depends on that series alone: forecasting one gives its row
    alone = fc.forecast_histories(run, hist[3:4], ds.names[3:4], 7)
    np.testing.assert_allclose(alone[0], whole[3], rtol=1e-6, atol=0)
