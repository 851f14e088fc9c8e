"""Workbook builders (SPEC §8): pure functions, campaign data (`reports.data.CampaignReport`) in, .xlsx bytes out."""
