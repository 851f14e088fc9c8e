"""双随机抽查助手 — a Telegram bot for cross-department "双随机、一公开" random inspections."""
