"""Searching records by text, on the device and on the server: `%` and `_` are plain
characters, not LIKE wildcards."""

from __future__ import annotations

from conftest import Server
from fieldsync.server import crm, users
from fieldsync.server.users import Principal

NAMES = ["Discount 50%", "Discount 500", "snake_case Ltd", "snakecase Ltd"]


def test_a_search_matches_wildcard_characters_literally_on_the_device_and_the_server(
    server: Server,
) -> None:
    phone = server.device("phone", "alice")
    for name in NAMES:
        phone.create("account", {"name": name})
    phone.sync()

    def on_device(text: str) -> list[str]:
        return sorted(item.values["name"] for item in phone.browse("account", text))

    def on_server(text: str) -> list[str]:  # what the console's search box lists
        with server.db.read() as conn:
            admin = Principal(users.find(conn, "admin"), "admin", "admin", None)
            found = crm.listing(conn, admin, "account", limit=50, offset=0, search=text)
        return sorted(r.data["name"] for r in found)

    for search in (on_device, on_server):
        assert search("50%") == ["Discount 50%"]
        assert search("e_c") == ["snake_case Ltd"]
        assert search("Discount") == ["Discount 50%", "Discount 500"]
