"""seqcast: forecast time series from CSV files with Keras recurrent networks."""

__version__ = "0.1.0"
