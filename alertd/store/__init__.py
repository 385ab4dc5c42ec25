"""The SQLite store: the only module that writes SQL."""

from alertd.store.db import FetchLog, Store, StoreError

__all__ = ["FetchLog", "Store", "StoreError"]
