"""The sweep tables' own CSV writer (comparisons/sweep_csv.py) against pandas' ``DataFrame.to_csv``, the
independent oracle, on frames holding every awkward value; and the streaming writer's two ways of joining
a block (rows placed by index arithmetic, or merged by pandas when they do not fill the grid) and its
vectorised pairs against the pairs' definition computed row by row."""

from __future__ import annotations

import io
import math
from itertools import combinations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from comparisons import sweep_tables
from comparisons.sweep_csv import write_csv
from comparisons.sweep_plan import Plan
from test_sweep_stream import GRID, _chunks, _sweep

# three backends: the pairs' order (by the backends' names) differs from the order of the pairs
THREE = GRID.replace('backends = ["reference", "nengo"]', 'backends = ["reference", "nengo", "brian2"]')

AWKWARD_FLOATS = [math.inf, -math.inf, -0.0, 0.0, 5e-324, -5e-324, 1e16, 1e15, 9999999999999998.0, 1e-4,
                  1e-5, 0.1, 1 / 3, 2.5e-3, 1.7976931348623157e308, 123456789012345678.0, -1.5e-310, 100.0,
                  1e22, math.nan, 1.0, -0.0, math.nan, 0.1]
AWKWARD_TEXTS = ["plain", "a, comma", 'a "quote"', '"', "line\nbreak", "carriage\rreturn", "", " lead",
                 "trail ", "ünïcode μs", "semi;colon", "tab\tin", "'single'", "x" * 300, "a, comma",
                 "plain", None, "", "end,", ",", '""', "plain", "nan", "NA"]


def _awkward(n: int = len(AWKWARD_FLOATS), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    floats = np.resize(np.array(AWKWARD_FLOATS), n)
    ints = rng.integers(-2**62, 2**62, size=n)
    ints[:3] = (0, -1, np.iinfo(np.int64).max)
    verdicts = pd.array(np.resize([True, False, None], n).tolist(), dtype="boolean")
    texts = np.resize(np.array(AWKWARD_TEXTS, dtype=object), n)
    return pd.DataFrame({
        "float": floats, "random": rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n),
        "repeated": np.resize(rng.normal(size=3), n), "int": ints, "flag": np.resize([True, False], n),
        "verdict": verdicts, "text": pd.Series(texts, dtype="str"), "object_text": texts,
        "mixed": np.resize(np.array(["a,b", None, 1.5, 7, True, math.nan, -0.0], dtype=object), n),
        "all_missing": pd.Series([None] * n, dtype="str"),
        "quoted, name": np.arange(n, dtype=np.int64)})


def _written(frame: pd.DataFrame, header: bool = True) -> str:
    buffer = io.StringIO(newline="")
    write_csv(buffer, frame, header)
    return buffer.getvalue()


@pytest.mark.parametrize("n", [24, 5000])
def test_the_csv_writer_writes_the_bytes_pandas_writes(n):
    frame = _awkward(n)
    assert _written(frame) == frame.to_csv(index=False, lineterminator="\n")
    assert _written(frame, header=False) == frame.to_csv(index=False, header=False, lineterminator="\n")
    # the texts really are awkward: pandas quotes some of them, and -0.0 keeps its sign
    text = frame.to_csv(index=False, lineterminator="\n")
    assert '"a, comma"' in text and '"a ""quote"""' in text and "-0.0," in text and "5e-324" in text


def test_frames_the_writer_leaves_to_pandas_are_written_by_pandas():
    frame = _awkward()
    for part in (frame[["text"]], pd.DataFrame({"f": np.float32([0.1, 1.5, np.nan]), "k": 1}), frame.iloc[:0],
                 frame.assign(when=pd.Timestamp("2020-01-01")), frame.assign(cat=frame["text"].astype("category"))):
        assert _written(part) == part.to_csv(index=False, lineterminator="\n"), list(part.columns)


def test_rows_placed_by_index_arithmetic_equal_rows_merged_by_pandas(tmp_path):
    spec = _sweep(tmp_path, THREE.format(n_tau=6), "s")
    plan = Plan(spec)
    chunks = _chunks(plan, tmp_path / "chunks")
    tables = [pq.read_table(p) for p in sorted(chunks.glob("*.parquet"))]
    axes = spec.points().reset_index()
    lo, hi = 7, 41                                            # a block of points, not aligned with a chunk
    block = axes.iloc[lo:hi].reset_index(drop=True)
    placed = sweep_tables._join(block, tables, spec.backends)
    assert sweep_tables._placed(block, pa.concat_tables(tables), spec.backends) is not None
    frame = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    merged = sweep_tables._merged(block, frame, spec.backends)
    for ours, theirs in zip(placed, merged):
        pd.testing.assert_frame_equal(ours, theirs)
    assert len(placed[0]) == (hi - lo) * len(spec.backends)
    # a row missing: no grid to fill, the merge takes over (the point's row of that backend left empty)
    short = [t.slice(1) if i == 0 else t for i, t in enumerate(tables)]
    missing = int(tables[0].column("point")[0].as_py())
    points, _ = sweep_tables._join(axes, short, spec.backends)
    lost = points[(points["point"] == missing)]
    assert len(lost) == len(spec.backends) - 1 and tables[0].column("backend")[0].as_py() not in set(lost["backend"])


def test_pairs_follow_their_definition_row_by_row(tmp_path):
    spec = _sweep(tmp_path, THREE.format(n_tau=5), "s")
    assert THREE != GRID
    plan = Plan(spec)
    points, pairs = sweep_tables.assemble(spec, _chunks(plan, tmp_path / "chunks"))
    rows = []
    for p, group in points.groupby("point", sort=True):
        by = {r["backend"]: r for _, r in group.iterrows()}
        for a, b in combinations(spec.backends, 2):
            for measure, (value, tol, verdict) in sweep_tables.PAIR_MEASURES.items():
                va, vb = by[a][value], by[b][value]
                diff = (0.0 if math.isnan(va) and math.isnan(vb) else
                        math.inf if math.isnan(va) or math.isnan(vb) else abs(va - vb))
                judged = not pd.isna(by[a][verdict]) and not pd.isna(by[b][verdict])
                bound = by[a][tol] + by[b][tol]
                rows.append((p, a, b, measure, diff, bound if judged else math.nan,
                             (diff <= bound) if judged else None))
    rows.sort(key=lambda r: r[:4])
    assert len(pairs) == len(rows) > 0
    assert pairs["passed"].isna().any() and pairs["passed"].eq(True).any() and pairs["passed"].eq(False).any()
    for (_, got), want in zip(pairs.iterrows(), rows):
        assert (got["point"], got["backend_a"], got["backend_b"], got["measure"]) == want[:4]
        np.testing.assert_equal([got["value"], got["tolerance"]], want[4:6])
        assert (None if pd.isna(got["passed"]) else bool(got["passed"])) == want[6]
