"""The one way the app shows a table: `show_table`. Every table the app shows can be downloaded only as a
formula-guarded CSV, like the exports.

Streamlit's own dataframe toolbar "Download as CSV" (and clipboard copy) writes cells as they are, so a
sentence starting with `=HYPERLINK(...)` or `-5%` would reach a spreadsheet as a formula. That export is
switched off (config option `client.disableDataExport`: set by `python -m label_app` on the command line and
here for any other launcher) and replaced by a `st.download_button` whose CSV goes through
`store.guard_cell`.
"""

from __future__ import annotations

import csv
import io
import numbers
from typing import Any

import pandas as pd
import streamlit as st

from .store import guard_cell


def table_csv(df: pd.DataFrame) -> str:
    """The CSV a table downloads as: header and cells as shown, every text cell guarded by `guard_cell`
    (numbers stay numbers: a negative number is not a formula), missing values empty. A default 0..n-1 index
    is left out; any other index (row labels of a confusion matrix) is the first column."""
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index(names=[str(n or "") for n in df.index.names])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow([guard_cell(str(c)) for c in df.columns])
    for values in df.itertuples(index=False, name=None):
        w.writerow([_cell(v) for v in values])
    return buf.getvalue()


def _cell(v: object) -> str:
    if v is None or (not isinstance(v, list | tuple | dict | set) and pd.isna(v)):
        return ""
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        return str(v)
    return guard_cell(str(v))


def show_table(df: pd.DataFrame, key: str, file_name: str, *, where: Any = None, download: bool = True,  # noqa: ANN401
               download_label: str = "Download CSV", **kwargs: Any) -> Any:  # noqa: ANN401 - st.dataframe's result
    """Show `df` with st.dataframe (kwargs pass through: hide_index, column_config, on_select, ...) in `where`
    (a column or container; default the page) and, when `download` and the table has rows, a download button
    for `table_csv(df)` named `file_name`.

    Returns what st.dataframe returns (the selection state when `on_select` is given).
    """
    st.set_option("client.disableDataExport", True)
    where = st if where is None else where
    event = where.dataframe(df, key=key, **kwargs)
    if download and not df.empty:
        where.download_button(download_label, lambda: table_csv(df), file_name, "text/csv", key=f"{key}_csv",
                           on_click="ignore", icon=":material/download:")
    return event
