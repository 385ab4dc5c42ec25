"""Writes generated/: FOCUS 1.0 exports of a small AWS-like account, two billing periods.

Run `python tests/data/focus/generate.py` to write them again (the output is deterministic). They
hold what a budget on FOCUS data meets: hourly and daily usage, an upfront purchase (BilledCost
on the day, EffectiveCost 0) with its amortised usage (BilledCost 0, EffectiveCost per hour), a
credit (negative, no service), tax rows, a correction of the previous period (negative, billed in
this one), Tags (with and without a `team`), two sub-accounts; May is split in two parts, as
AWS writes a period. Costs have at most 6 decimal places, so a report matches them to the digit.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

COLUMNS = [
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "SubAccountId",
    "SubAccountName",
    "RegionId",
    "ResourceId",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "Tags",
]
EC2, S3 = "Amazon Elastic Compute Cloud", "Amazon Simple Storage Service"
PAYMENTS = ("100000000001", "payments-prod")
SEARCH = ("100000000002", "search-prod")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def row(
    period: tuple[datetime, datetime],
    start: datetime,
    end: datetime,
    service: str,
    account: tuple[str, str],
    billed: Decimal,
    effective: Decimal | None = None,
    *,
    category: str = "Usage",
    charge_class: str = "",
    frequency: str = "Usage-Based",
    description: str = "",
    resource: str = "",
    tags: dict[str, str] | None = None,
) -> dict[str, str]:
    effective = billed if effective is None else effective
    return {
        "BillingAccountId": "999999999999",
        "BillingPeriodStart": iso(period[0]),
        "BillingPeriodEnd": iso(period[1]),
        "ChargePeriodStart": iso(start),
        "ChargePeriodEnd": iso(end),
        "ChargeCategory": category,
        "ChargeClass": charge_class,
        "ChargeDescription": description or f"{service} {category.lower()}",
        "ChargeFrequency": frequency,
        "ProviderName": "AWS",
        "ServiceName": service,
        "ServiceCategory": "Compute" if service == EC2 else "Storage" if service == S3 else "Other",
        "SubAccountId": account[0],
        "SubAccountName": account[1],
        "RegionId": "us-east-1",
        "ResourceId": resource,
        "BilledCost": f"{billed}",
        "EffectiveCost": f"{effective}",
        "ListCost": f"{max(billed, effective)}",
        "BillingCurrency": "USD",
        "Tags": json.dumps(tags or {}),
    }


def april() -> list[dict[str, str]]:
    period = (at("2026-04-01"), at("2026-05-01"))
    rows = [
        row(
            period,
            at("2026-04-30") + h * HOUR,
            at("2026-04-30") + (h + 1) * HOUR,
            EC2,
            PAYMENTS,
            Decimal("0.416") + h * Decimal("0.000123"),
            resource="i-0payments1",
            tags={"team": "payments", "env": "prod"},
        )
        for h in range(24)
    ]
    rows += [
        row(period, at(day), at(day) + DAY, S3, SEARCH, Decimal(cost), resource="search-index", tags={"team": "search"})
        for day, cost in (("2026-04-28", "1.234567"), ("2026-04-29", "1.3"), ("2026-04-30", "1.25"))
    ]
    rows.append(row(period, *period, EC2, PAYMENTS, Decimal("3.141593"), category="Tax", frequency="Recurring"))
    return rows


def may_part1() -> list[dict[str, str]]:
    period = (at("2026-05-01"), at("2026-06-01"))
    day = at("2026-05-01")
    rows = [
        row(
            period,
            day + h * HOUR,
            day + (h + 1) * HOUR,
            EC2,
            PAYMENTS,
            Decimal("0.42") + h * Decimal("0.000007"),
            resource="i-0payments1",
            tags={"team": "payments", "env": "prod"},
        )
        for h in range(24)
    ]
    rows += [
        row(
            period,
            day + h * HOUR,
            day + (h + 1) * HOUR,
            EC2,
            SEARCH,
            Decimal("0.0832"),
            resource="i-0search1",
            tags={"team": "search"},
        )
        for h in range(12)
    ]
    # A one-year Savings Plan bought upfront, and the usage it covers: amortised into EffectiveCost.
    rows.append(
        row(
            period,
            day,
            at("2027-05-01"),
            "Savings Plans for AWS Compute usage",
            PAYMENTS,
            Decimal("8760.00"),
            Decimal("0.00"),
            category="Purchase",
            frequency="One-Time",
            resource="sp-0123456789",
            description="1 year all upfront Compute Savings Plan",
        )
    )
    rows += [
        row(
            period,
            day + h * HOUR,
            day + (h + 1) * HOUR,
            EC2,
            PAYMENTS,
            Decimal("0"),
            Decimal("1.000000"),
            resource="i-0payments2",
            description="usage covered by sp-0123456789",
            tags={"team": "payments", "env": "prod"},
        )
        for h in range(24)
    ]
    rows.append(
        row(
            period,
            *period,
            "",
            PAYMENTS,
            Decimal("-25.00"),
            category="Credit",
            frequency="One-Time",
            description="Promotional credit",
        )
    )
    rows.append(row(period, *period, EC2, PAYMENTS, Decimal("12.345678"), category="Tax", frequency="Recurring"))
    return rows


def may_part2() -> list[dict[str, str]]:
    period = (at("2026-05-01"), at("2026-06-01"))
    rows = [
        row(period, at(day), at(day) + DAY, S3, SEARCH, Decimal(cost), resource="search-index", tags=tags)
        for day, cost, tags in (
            ("2026-05-01", "1.27", {"team": "search"}),
            ("2026-05-02", "1.290001", {}),  # untagged: no team
        )
    ]
    # April 30 10:00 was overcharged: corrected in May's invoice, at the hour it corrects.
    rows.append(
        row(
            period,
            at("2026-04-30T10:00"),
            at("2026-04-30T11:00"),
            EC2,
            PAYMENTS,
            Decimal("-0.2"),
            charge_class="Correction",
            resource="i-0payments1",
            description="Correction of overcharged usage",
            tags={"team": "payments", "env": "prod"},
        )
    )
    return rows


def write(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    out = Path(__file__).parent / "generated"
    write(out / "2026-04" / "focus-00001.csv", april())
    write(out / "2026-05" / "focus-00001.csv", may_part1())
    write(out / "2026-05" / "focus-00002.csv", may_part2())


if __name__ == "__main__":
    main()
