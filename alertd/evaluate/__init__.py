"""The evaluation passes of one cycle (see `alertd.cycle`): decide per rule kind, then enqueue."""
