"""Texts of the notification outbox (SPEC §9): what the admins are told when a chat cannot be reached."""

TEXTS: dict[str, dict[str, str]] = {
    "outbox.blocked": {
        "zh": "⚠️ 无法向 {who}（Telegram {chat_id}）发送通知：{reason}\n"
              "对方可能已屏蔽本机器人或删除了对话，发给该账号的通知已停止。"
              "请电话联系本人，请其重新打开与机器人的私聊并发送 /start。",
        "en": "⚠️ Notifications to {who} (Telegram {chat_id}) cannot be delivered: {reason}\n"
              "The user may have blocked the bot or deleted the chat; messages to this account have stopped. "
              "Please call the person and ask them to reopen the private chat with the bot and send /start.",
    },
    "outbox.unknown_person": {
        "zh": "未登记的账号",
        "en": "an unregistered account",
    },
}
