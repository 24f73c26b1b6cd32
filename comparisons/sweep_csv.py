"""A sweep table's CSV lines, the bytes of ``pandas.DataFrame.to_csv(index=False, lineterminator="\\n")``
written for a fraction of its CPU.

pandas formats a frame for CSV column by column (``astype(str)`` of a float64 column: numpy's shortest
round-trip repr, which is Python's ``repr``; ``str`` of an integer or a boolean; a missing value, NaN or
``<NA>``, as the empty string; text as it is) and hands the rows to :func:`csv.writer` with the dialect
below (``QUOTE_MINIMAL``: a field holding a comma, a quote or a line break is quoted, its quotes doubled).
:func:`write_csv` does the same with each distinct value of a column formatted once (a float64 column is
deduplicated on its bit pattern, so ``-0.0`` keeps its sign) and each distinct text quoted once by that
same :func:`csv.writer`; the fields of a row are then joined by commas (a number, ``True`` or ``False``
never needs quotes). A frame of one column (where :func:`csv.writer` quotes an empty row) or with a column
of any other dtype (float32, dates, categories...) is left to pandas: ``to_csv`` writes it.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

#: The dialect ``DataFrame.to_csv`` passes to :func:`csv.writer` by default.
DIALECT = dict(delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, doublequote=True, escapechar=None,
               lineterminator="\n")
_BOOL_TEXT = np.array(["False", "True", ""], dtype=object)


def write_csv(fh, frame: pd.DataFrame, header: bool = True) -> None:
    """Append ``frame`` to the text file ``fh`` (opened with ``newline=""``) as ``to_csv`` writes it."""
    usable = frame.shape[1] > 1 and frame.columns.is_unique
    columns = [_texts(frame[c]) for c in frame.columns] if usable else [None]
    if any(c is None for c in columns):
        frame.to_csv(fh, index=False, header=header, float_format=None, lineterminator="\n")
        return
    if header:
        fh.write(",".join(_quoted([str(c) for c in frame.columns])) + "\n")
    if len(frame):
        fh.write("\n".join(map(",".join, zip(*columns))) + "\n")


def _quoted(texts) -> list:
    """Each of the distinct ``texts`` as :func:`csv.writer` writes it as one field of a row of several
    (quoted where needed)."""
    out = []
    for text in texts:
        buffer = io.StringIO()
        csv.writer(buffer, **DIALECT).writerow([text, ""])
        out.append(buffer.getvalue()[:-2])
    return out


def _texts(column: pd.Series) -> list | None:
    """The CSV field of every value of ``column`` (None for a dtype left to pandas)."""
    dtype = column.dtype
    if isinstance(dtype, pd.BooleanDtype):
        truth = column.to_numpy(dtype=bool, na_value=False).astype(np.intp)
        return _BOOL_TEXT[np.where(column.isna().to_numpy(), 2, truth)].tolist()
    if isinstance(dtype, pd.StringDtype) or dtype == object:
        if dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
            missing = column.isna().to_numpy()
            column = pd.Series(["" if m else v if type(v) is str else str(v)
                                for v, m in zip(column.to_numpy(), missing)], dtype=object)
        codes, distinct = pd.factorize(column, use_na_sentinel=True)
        texts = np.array(_quoted(distinct.tolist()) + [""], dtype=object)
        return texts[codes].tolist()
    if not isinstance(dtype, np.dtype):
        return None
    values = column.to_numpy()
    if dtype.kind in "iub":
        return values.astype(str).tolist()
    if dtype != np.float64:
        return None
    distinct, where = np.unique(values.view(np.int64), return_inverse=True)
    numbers = distinct.view(np.float64)
    texts = np.array(list(map(repr, numbers.tolist())), dtype=object)
    texts[np.isnan(numbers)] = ""
    return texts[where].tolist()
