"""The device library: a local store, offline edits, the sync engine and Sync errors."""

from fieldsync.device.device import Device
from fieldsync.device.report import SyncReport

__all__ = ["Device", "SyncReport"]
