"""alertd: budget alerting for cloud and AI spend."""

__version__ = "0.1.0"
