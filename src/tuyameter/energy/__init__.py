"""Energy accounting: monotonic import/export totals from coarse, resettable meter counters."""
