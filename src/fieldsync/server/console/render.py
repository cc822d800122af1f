"""The console's pages: its templates, its notices, the policy names they show."""

from __future__ import annotations

from fieldsync.project import POLICY_DESCRIPTIONS, Policy
from fieldsync.web import Pages

# What a redirect after a successful form may say; only these codes are shown.
NOTICES = {
    "saved": "Saved. Devices receive the new settings at their next sync.",
    "unchanged": "Nothing was changed, so nothing was published.",
    "field_added": "Field added. Devices receive it at their next sync.",
    "resolved": "Resolved. The device receives the outcome at its next sync.",
    "restored": "Restored as a new server change; devices receive it at their next sync.",
    "record_saved": "Record saved.",
    "record_unchanged": "Nothing was changed, so nothing was saved.",
    "record_merged": "Record saved, together with the changes someone else saved meanwhile.",
    "record_created": "Record created.",
    "record_deleted": "Record deleted.",
    "user_added": "User added.",
    "password_set": "Password changed. The user's devices and sessions must log in again.",
    "user_disabled": "User disabled; their devices are signed out.",
    "user_enabled": "User enabled.",
    "device_revoked": "The device is signed out; it must log in again to sync.",
    "device_removed": "Device removed; its user may register another.",
    "logged_out": "You are logged out.",
}

POLICY_LABELS = {
    Policy.SERVER_WINS: "Server Wins",
    Policy.PARTIAL_DEVICE_WINS: "Partial Device Wins",
    Policy.FULL_DEVICE_WINS: "Full Device Wins",
    Policy.USER_ACTION: "User Action",
}

_pages = Pages(
    "fieldsync.server.console",
    NOTICES,
    policies=[(p.value, POLICY_LABELS[p], POLICY_DESCRIPTIONS[p]) for p in Policy],
    policy_label={p.value: label for p, label in POLICY_LABELS.items()},
)
page = _pages.page
redirect = _pages.redirect
