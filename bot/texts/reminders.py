"""Texts of the daily reminders, overdue notices, escalations and the coordinators' digest (SPEC §7)."""

TEXTS: dict[str, dict[str, str]] = {
    "rem.more": {"zh": "……另有 {n} 个", "en": "… and {n} more"},
    "rem.before": {
        "zh": "⏰ 结果录入提醒：{number}「{title}」\n录入截止 {due}，还剩 {left} 个工作日。\n"
              "您还有 {count} 个检查对象未提交结果：\n{targets}\n请发送 /enter 录入。",
        "en": "⏰ Results reminder: {number} “{title}”\nResults are due {due}: {left} working day(s) left.\n"
              "You have {count} target(s) without submitted results:\n{targets}\nSend /enter to enter them.",
    },
    "rem.overdue": {
        "zh": "❗ 结果录入已逾期：{number}「{title}」\n截止日期 {due}，已逾期 {late} 个工作日。\n"
              "您还有 {count} 个检查对象未提交结果：\n{targets}\n请尽快发送 /enter 录入；已通知检查组组长和协调人。",
        "en": "❗ Results overdue: {number} “{title}”\nThey were due {due}: {late} working day(s) late.\n"
              "You have {count} target(s) without submitted results:\n{targets}\nPlease send /enter now; your group "
              "leader and the coordinators have been told.",
    },
    "rem.escalate_leader": {
        "zh": "❗ 第 {group} 组结果录入逾期：{number}\n截止日期 {due}，已逾期 {late} 个工作日，"
              "尚有 {count} 项（检查对象×部门）未提交：\n{targets}\n请督促组员尽快录入。",
        "en": "❗ Group {group} is late with results: {number}\nDue {due}, {late} working day(s) late; {count} "
              "(target × department) still missing:\n{targets}\nPlease ask your group to enter them.",
    },
    "rem.escalate_coordinator": {
        "zh": "❗ 结果录入逾期：{number}「{title}」\n截止日期 {due}，已逾期 {late} 个工作日，"
              "尚有 {count} 项（检查对象×部门）未提交，涉及第 {groups} 组。发送 /progress 查看详情。",
        "en": "❗ Results overdue: {number} “{title}”\nDue {due}, {late} working day(s) late; {count} "
              "(target × department) missing, in group(s) {groups}. /progress shows the details.",
    },
    "rem.publish": {
        "zh": "📢 公示提醒：{number}「{title}」\n公示截止 {due}，还剩 {left} 个工作日。{ready}",
        "en": "📢 Publication reminder: {number} “{title}”\nPublication is due {due}: {left} working day(s) left. "
              "{ready}",
    },
    "rem.publish_late": {
        "zh": "❗ 公示已逾期：{number}「{title}」\n公示截止 {due}，已逾期 {late} 个工作日。{ready}",
        "en": "❗ Publication overdue: {number} “{title}”\nIt was due {due}: {late} working day(s) late. {ready}",
    },
    "rem.publish_ready": {"zh": "结果已全部录入，可发送 /publish 公示。",
                          "en": "All results are in: send /publish to publish."},
    "rem.publish_waiting": {"zh": "仍有结果未录入，录入完成后方可公示。",
                            "en": "Some results are still missing; publication follows once they are in."},
    "rem.digest": {
        "zh": "📋 每日汇总（{day}）\n{lines}",
        "en": "📋 Daily digest ({day})\n{lines}",
    },
    "rem.digest_line": {
        "zh": "· {number}「{title}」：未提交 {missing} 项；录入截止 {due}{status}；公示截止 {publication}",
        "en": "· {number} “{title}”: {missing} missing; results due {due}{status}; publication due {publication}",
    },
    "rem.digest_left": {"zh": "（还剩 {left} 个工作日）", "en": " ({left} working day(s) left)"},
    "rem.digest_late": {"zh": "（已逾期 {late} 个工作日）", "en": " ({late} working day(s) late)"},
}
