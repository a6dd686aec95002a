"""IntelligentOS cockpit: a terminal UI over a SQLite KPI store."""

__version__ = "0.1.0"
