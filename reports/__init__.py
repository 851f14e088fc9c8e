"""Workbook builders: pure functions, plain data in, xlsx bytes out (SPEC §8)."""
