"""Texts of campaign (filled by its feature)."""

TEXTS: dict[str, dict[str, str]] = {
}
