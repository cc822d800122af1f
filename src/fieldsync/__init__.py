"""fieldsync: offline-first CRM synchronization with per-entity conflict policies."""

__version__ = "0.1.0"
