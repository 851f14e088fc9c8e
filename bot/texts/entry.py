"""Texts of entry (filled by its feature)."""

TEXTS: dict[str, dict[str, str]] = {
}
