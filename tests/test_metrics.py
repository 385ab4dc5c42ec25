"""What the Prometheus metrics say after polls, evaluations and deliveries (a reload included)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from alertd.config import Config
from alertd.ingest import Outcome
from alertd.metrics import Metrics
from alertd.model import BudgetStatus, Forecast

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def status(rule: str, spent: int, projected: int | None) -> BudgetStatus:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    forecast = Forecast(projected, None, "seasonal") if projected is not None else None
    return BudgetStatus(rule, "EUR", 100_000_000, spent, "month", start, end, NOW, forecast, 0, (), (), ())


def test_metrics_follow_polls_budgets_and_deliveries() -> None:
    m = Metrics()
    value = m.registry.get_sample_value
    config = Config.model_validate(
        {
            "sources": [{"name": "nf", "provider": "northflank", "token": "t"}],
            "channels": {"ops": "json://127.0.0.1:9/x", "pager": "json://127.0.0.1:9/y"},
        }
    )
    m.configure(config)
    assert value("alertd_source_fetch_errors_total", {"source": "nf"}) == 0
    assert value("alertd_alerts_sent_total", {"channel": "pager"}) == 0

    m.polled([Outcome("nf", rows=3, seconds=0.4), Outcome("nf", skipped="too soon")], finished=1_700_000_000.0)
    m.polled([Outcome("nf", error="HTTP 503", seconds=2.0)], finished=1_700_000_900.0)
    assert value("alertd_source_last_success_timestamp_seconds", {"source": "nf"}) == 1_700_000_000.0
    assert value("alertd_source_fetch_errors_total", {"source": "nf"}) == 1
    assert value("alertd_source_fetch_duration_seconds_count", {"source": "nf"}) == 2  # the skip is no fetch
    assert value("alertd_source_fetch_duration_seconds_sum", {"source": "nf"}) == 2.4

    m.budgets([status("cloud", 81_250_000, 120_000_000), status("gpu", 5_000_000, None)])
    cloud, gpu = {"budget": "cloud", "currency": "EUR"}, {"budget": "gpu", "currency": "EUR"}
    assert value("alertd_budget_spent", cloud) == 81.25 and value("alertd_budget_amount", cloud) == 100
    assert value("alertd_budget_forecast", cloud) == 120 and value("alertd_budget_forecast", gpu) is None
    m.budgets([status("cloud", 82_000_000, None)])  # a reload removed gpu; cloud has no forecast now
    assert value("alertd_budget_spent", gpu) is None and value("alertd_budget_forecast", cloud) is None
    assert value("alertd_budget_spent", cloud) == 82

    m.deliveries(Counter({("ops", "sent"): 2, ("pager", "failed"): 1}))
    m.deliveries(Counter({("pager", "gave_up"): 1}))
    assert value("alertd_alerts_sent_total", {"channel": "ops"}) == 2
    assert value("alertd_alerts_failed_total", {"channel": "pager"}) == 1
    assert value("alertd_alerts_given_up_total", {"channel": "pager"}) == 1
