"""Texts of corrections (filled by its feature)."""

TEXTS: dict[str, dict[str, str]] = {
}
