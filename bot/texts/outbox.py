"""Texts of the notification outbox (SPEC §9): what the admins are told when a chat cannot be reached."""

TEXTS: dict[str, dict[str, str]] = {
    "outbox.blocked": {
        "zh": "⚠️ 无法向 {who}（账号 {chat_id}）发送通知：{reason}\n"
              "对方可能已屏蔽本机器人、删除了对话，或（钉钉）不在应用的可见范围内，发给该账号的通知已停止。"
              "请电话联系本人，请其重新打开与机器人的私聊并发送 /start；钉钉上请管理员把其加入应用的可见范围。",
        "en": "⚠️ Notifications to {who} (account {chat_id}) cannot be delivered: {reason}\n"
              "The user may have blocked the bot, deleted the chat or (DingTalk) be outside the app's visible range; "
              "messages to this account have stopped. Please call the person and ask them to reopen the private "
              "chat with the bot and send /start; on DingTalk, add them to the app's visible range.",
    },
    "outbox.unknown_person": {
        "zh": "未登记的账号",
        "en": "an unregistered account",
    },
    # ---- the messenger bridge (bot.runtime.platform; SPEC §11)
    "bridge.file_too_large": {
        "zh": "⚠️ 文件“{filename}”（{size_mb} MB）超过钉钉 {limit_mb} MB 的文件上限，未能发送。"
              "请管理员在服务器上用 python -m bot report 导出，或按部门分别生成后再发送。",
        "en": "⚠️ The file “{filename}” ({size_mb} MB) is over DingTalk's {limit_mb} MB file limit and was not sent. "
              "Ask an admin to export it on the server with python -m bot report, or to produce it per department.",
    },
}
