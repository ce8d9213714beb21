"""One module per console page (or group of pages): `router`, and `NAV` entries for the header's menu."""
