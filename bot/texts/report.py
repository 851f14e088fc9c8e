"""Texts of the reports (SPEC §8): /report, the automatic sends to the coordinators, /publish and the CLI."""

TEXTS: dict[str, dict[str, str]] = {
    "cmd.report": {"zh": "生成并接收报表（领导小组、联络员）", "en": "get the report workbooks (leaders, coordinators)"},
    "cmd.publish": {"zh": "公示检查结果（领导小组）", "en": "publish the results (leaders)"},

    # ---- /report
    "report.private_only": {
        "zh": "报表含检查人员和经营主体的信息，只在私聊中发送。请在与机器人的私聊中发送 /report。",
        "en": "The reports hold personal data of inspectors and businesses and are sent in private only. "
              "Send /report in your private chat with the bot.",
    },
    "report.progress.loading": {
        "zh": "正在生成报表：{number}\n读取数据……",
        "en": "Preparing the reports: {number}\nreading the data…",
    },
    "report.progress.building": {
        "zh": "正在生成报表：{number}（{targets} 个检查对象）\n{i}/{n} {name}……",
        "en": "Preparing the reports: {number} ({targets} targets)\n{i}/{n} {name}…",
    },
    "report.progress.sending": {
        "zh": "正在发送 {count} 个文件：{number}……",
        "en": "Sending {count} files: {number}…",
    },
    "report.progress.done": {
        "zh": "已发送 {count} 个文件：{number}《{title}》（{when} 生成）",
        "en": "Sent {count} files: {number} “{title}” (made {when})",
    },
    "report.progress.failed": {
        "zh": "生成报表时出错，未发送完整。请稍后再试；如仍失败请联系管理员。",
        "en": "Something went wrong while making the reports; they were not all sent. Please try again later, "
              "or tell an admin if it keeps failing.",
    },
    "report.caption.request": {
        "zh": "{number}《{title}》（{i}/{n}）",
        "en": "{number} “{title}” ({i}/{n})",
    },

    # ---- sent automatically to the coordinators (through the outbox)
    "report.caption.entered": {
        "zh": "{number}《{title}》全部结果已录入，自动发送报表（{i}/{n}）",
        "en": "{number} “{title}”: every result is entered — the reports ({i}/{n})",
    },
    "report.caption.deadline": {
        "zh": "{number}《{title}》{deadline}截止日期 {date}，自动发送报表（{i}/{n}）",
        "en": "{number} “{title}”: {deadline} deadline {date} — the reports ({i}/{n})",
    },
    "report.caption.published": {
        "zh": "{number}《{title}》已于 {date} 公示：公示表（{i}/{n}）",
        "en": "{number} “{title}” was published on {date}: the publication list ({i}/{n})",
    },
    "report.caption.other": {
        "zh": "{number}《{title}》报表（{i}/{n}）",
        "en": "{number} “{title}”: reports ({i}/{n})",
    },
    "report.deadline.results": {"zh": "结果录入", "en": "results"},
    "report.deadline.publication": {"zh": "公示", "en": "publication"},
    "report.deadline.summary": {"zh": "总结报送", "en": "summary report"},

    # ---- /publish
    "report.publish.done": {
        "zh": "已公示：{number}《{title}》，公示日期 {date}。{late}\n公示表正在发送给您和联络员。",
        "en": "Published: {number} “{title}”, on {date}. {late}\nThe publication list is on its way to you and "
              "the coordinators.",
    },
    "report.publish.on_time": {"zh": "在公示期限内（截止 {due}）。", "en": "Within the deadline ({due})."},
    "report.publish.late": {
        "zh": "⚠️ 已超过公示期限 {workdays} 个工作日（公示截止 {due}）。",
        "en": "⚠️ {workdays} working days past the publication deadline ({due}).",
    },
    "report.publish.late_days": {
        "zh": "⚠️ 已超过公示期限 {days} 天（公示截止 {due}）。",
        "en": "⚠️ {days} days past the publication deadline ({due}).",
    },
    "report.publish.group": {
        "zh": "【结果公示】{number}《{title}》的抽查结果已于 {date} 公示（{targets} 个检查对象，{problems} 个发现问题），"
              "公示人：{who}。{late}",
        "en": "[Published] The results of {number} “{title}” were published on {date} ({targets} targets, "
              "{problems} with a problem), by {who}. {late}",
    },
    "report.publish.already": {
        "zh": "{number} 已于 {date} 公示，不再重复公示。",
        "en": "{number} was already published on {date}; it is not published again.",
    },
    "report.publish.incomplete": {
        "zh": "{number} 还有 {missing} 项结果未录入（已录入 {entered}/{expected}），全部录入后才能公示。发送 /progress 查看进度。",
        "en": "{number}: {missing} results are still missing ({entered}/{expected} entered); it can be published "
              "once every result is in. /progress shows who is missing.",
    },
    "report.publish.not_drawn": {
        "zh": "{number} 尚未抽取，没有可公示的结果。",
        "en": "{number} has not been drawn yet; there is nothing to publish.",
    },
    "report.publish.wrong_group": {
        "zh": "请在私聊或已绑定的工作群中发送 /publish。",
        "en": "Send /publish in a private chat or in the bound group.",
    },

    # ---- python -m bot report
    "report.cli.written": {"zh": "已写入 {count} 个文件：", "en": "{count} files written:"},
}
