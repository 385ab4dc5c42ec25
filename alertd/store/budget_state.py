"""When each budget was last evaluated, so that a cycle evaluates only those that may have news."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetState:
    fingerprint: str  # the budget's definition and zone when it was evaluated
    change_id: int  # the newest change (see `Rollup.track`) taken into account
    due: float | None  # unix time from which time alone may change its decision


class BudgetStates:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, BudgetState]:
        rows = self.conn.execute("SELECT budget, fingerprint, change_id, due FROM budget_state")
        return {name: BudgetState(fingerprint, change_id, due) for name, fingerprint, change_id, due in rows}

    def save(self, budget: str, state: BudgetState) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO budget_state (budget, fingerprint, change_id, due) VALUES (?, ?, ?, ?)",
                (budget, state.fingerprint, state.change_id, state.due),
            )
