"""Parquet lakes through pyarrow: `files` lists datasets, `reading` serves lookups, `writing`
rewrites files like their originals, and `connector` runs lookups and erasures over a dataset."""

from .connector import ParquetConnector
from .reading import ScanStats
from .writing import TMP_PREFIX

__all__ = ["TMP_PREFIX", "ParquetConnector", "ScanStats"]
