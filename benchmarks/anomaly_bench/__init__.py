"""Hand-run benchmark of alertd's anomaly detector: corpus, comparators, scoring harness.

Named `anomaly_bench` (not `anomaly`) so that the entry script `benchmarks/anomaly.py` does not
shadow it when run as `python benchmarks/anomaly.py`.
"""
