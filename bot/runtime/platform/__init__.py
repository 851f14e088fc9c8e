"""Messengers other than Telegram (SPEC §11). The PTB application and its handlers always speak the Bot API; for
another messenger `bridge.BridgeRequest` (a PTB `BaseRequest`) answers those Bot API calls with normalised
actions on a `base.Messenger`, and turns the messenger's normalised events into stored Telegram-shaped updates that
`getUpdates` serves. A messenger package (`bot.runtime.dingtalk`) only implements `base.Messenger`."""
