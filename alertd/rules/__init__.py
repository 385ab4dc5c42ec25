"""Pure rule logic: functions of (rule, series, now); no I/O."""
