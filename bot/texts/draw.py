"""Texts of draw (filled by its feature)."""

TEXTS: dict[str, dict[str, str]] = {
}
