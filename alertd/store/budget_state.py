"""When each budget was last evaluated, so that a cycle evaluates only those that may have news."""

from __future__ import annotations

from dataclasses import dataclass

from alertd.store.connection import Connection


@dataclass(frozen=True)
class BudgetState:
    fingerprint: str  # the budget's definition and zone when it was evaluated
    change_id: int  # the newest change (see `Rollup.track`) taken into account
    due: float | None  # unix time from which time alone may change its decision


class BudgetStates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, BudgetState]:
        rows = self.conn.execute("SELECT budget, fingerprint, change_id, due FROM budget_state")
        return {name: BudgetState(fingerprint, change_id, due) for name, fingerprint, change_id, due in rows}

    def save(self, states: dict[str, BudgetState]) -> None:
        """Per budget name, in one transaction."""
        with self.conn.write():
            self.conn.executemany(
                "INSERT OR REPLACE INTO budget_state (budget, fingerprint, change_id, due) VALUES (?, ?, ?, ?)",
                [(name, s.fingerprint, s.change_id, s.due) for name, s in states.items()],
            )
