"""The name of the closed form and the columns of a metric row are each written once
(models.result.CLOSED_FORM, models.result.METRIC_COLUMNS); every module that names them imports them."""

from __future__ import annotations

from conftest import ROOT

PACKAGES = ("models", "reference", "reports", "comparisons", "benchmarks")
HOME = ROOT / "models" / "result.py"


def sources():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def where(text: str) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in sources() if text in path.read_text()]


def test_the_closed_form_name_is_written_once():
    assert where('"closed_form"') == ["models/result.py"]


def test_the_metric_columns_are_written_once():
    # a metric row's columns (a sweep's pairs table has columns of its own, ending the same way)
    assert where('"reference", "metric", "value", "unit", "tolerance", "passed"') == ["models/result.py"]
    assert where('"metric", "value", "unit", "tolerance"') == ["models/result.py"]
    assert where('("metric", "value", "unit")') == []


def test_the_modules_that_name_them_import_them():
    from comparisons import metrics, verdicts
    from models.result import CLOSED_FORM, METRIC_COLUMNS
    from reports import writers

    assert verdicts.COLUMNS == list(METRIC_COLUMNS) == writers.COLUMNS["metrics.csv"]
    assert metrics.COLUMNS == ("metric", "value", "unit") and CLOSED_FORM == "closed_form"
