"""Texts of directory import and the directory views (SPEC §3)."""

TEXTS: dict[str, dict[str, str]] = {
}
