"""Alert lifecycle decisions: pure functions of (rule, status, what was sent, now)."""
