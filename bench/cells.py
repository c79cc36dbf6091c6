"""The cells of a records frame as pandas reads them back: what counts as an empty one.

A null string or number of a stored record (no regularizer, a metric the run did not report)
comes back from Parquet as ``None`` or as ``NaN``, depending on the column's type; every reader
of the frame (the store's spec rebuilding, the findings, the report, re-runs) asks here.
"""

from __future__ import annotations

import math


def is_missing(value) -> bool:
    """A null cell as pandas reads it back: None, or NaN for a null string or number."""
    return value is None or (isinstance(value, float) and math.isnan(value))
