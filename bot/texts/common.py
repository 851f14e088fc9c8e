"""Texts of identity, roles, help and general errors (SPEC §2)."""

TEXTS: dict[str, dict[str, str]] = {
}
