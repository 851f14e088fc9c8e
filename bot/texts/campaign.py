"""Texts of campaigns (SPEC §4): plan errors and warnings, /campaigns, and the /new conversation."""

TEXTS: dict[str, dict[str, str]] = {
    # ---- states: 草稿 → 已抽取 → 检查中 → 已录入 → 已公示 → 已办结
    "campaign.state.draft": {"zh": "草稿", "en": "draft"},
    "campaign.state.drawn": {"zh": "已抽取", "en": "drawn"},
    "campaign.state.inspecting": {"zh": "检查中", "en": "inspecting"},
    "campaign.state.entered": {"zh": "已录入", "en": "results entered"},
    "campaign.state.published": {"zh": "已公示", "en": "published"},
    "campaign.state.closed": {"zh": "已办结", "en": "closed"},

    # ---- credit-risk classes and sampling rules
    "campaign.class.letter": {"zh": "{cls}类", "en": "class {cls}"},
    "campaign.class.none": {"zh": "未分类", "en": "unclassified"},
    "campaign.sampling.ratio": {"zh": "按比例 {percent}", "en": "by ratio, {percent}"},
    "campaign.sampling.count": {"zh": "按数量 {count} 户", "en": "by count, {count} targets"},
    "campaign.sampling.by_class": {"zh": "按信用分类：{classes}", "en": "by credit class: {classes}"},
    "campaign.sampling.class_item": {"zh": "{cls} {percent}", "en": "{cls} {percent}"},
    "campaign.sampling.others_ratio": {"zh": "其余 {percent}", "en": "others {percent}"},
    "campaign.sampling.others_count": {"zh": "其余 {count} 户", "en": "others {count} targets"},
    "campaign.provisional": {"zh": "{date}（暂定）", "en": "{date} (provisional)"},
    "campaign.groups.all": {"zh": "全部对象编为一组", "en": "all targets in one group"},
    "campaign.groups.size": {"zh": "每组 {n} 户", "en": "{n} targets per group"},

    # ---- plan errors (the message part of `key: message`)
    "campaign.plan.unknown_key": {
        "zh": "未知的键（拼写错误？），可用的键：{allowed}",
        "en": "unknown key (typo?); the keys are: {allowed}",
    },
    "campaign.plan.not_text": {"zh": "必填，应为非空文本", "en": "required, a non-empty text"},
    "campaign.plan.too_long": {"zh": "超过 {max} 个字符", "en": "longer than {max} characters"},
    "campaign.plan.not_list": {
        "zh": "应为非空的文本列表，如 [\"…\", \"…\"]",
        "en": "expected a non-empty list of texts, like [\"…\", \"…\"]",
    },
    "campaign.plan.not_table": {"zh": "应为表，如 {example}", "en": "expected a table like {example}"},
    "campaign.plan.duplicate": {"zh": "「{value}」重复", "en": "“{value}” is listed twice"},
    "campaign.plan.unknown_department": {
        "zh": "单位「{value}」不在单位名录中（可用全称或简称）",
        "en": "department “{value}” is not in the directory (use its full or short name)",
    },
    "campaign.plan.lead_not_in": {
        "zh": "牵头单位「{value}」必须是 departments 中的一个单位",
        "en": "the lead department “{value}” must be one of departments",
    },
    "campaign.plan.not_in_departments": {
        "zh": "「{value}」不在 departments 中",
        "en": "“{value}” is not one of departments",
    },
    "campaign.plan.lead_cooperating": {
        "zh": "「{value}」是牵头单位，不能同时是配合单位",
        "en": "“{value}” is the lead department and cannot also be cooperating",
    },
    "campaign.plan.not_date": {
        "zh": "「{value}」不是日期，应为 YYYY-MM-DD",
        "en": "“{value}” is not a date; use YYYY-MM-DD",
    },
    "campaign.plan.window_both": {
        "zh": "需要开始和结束日期，如 window = {example}",
        "en": "needs a start and an end date, like window = {example}",
    },
    "campaign.plan.year_range": {
        "zh": "日期 {value} 不在 {min}—{max} 年之间",
        "en": "the date {value} is not between the years {min} and {max}",
    },
    "campaign.plan.window_order": {
        "zh": "开始日期 {start} 晚于结束日期 {end}",
        "en": "the start {start} is after the end {end}",
    },
    "campaign.plan.int_min": {
        "zh": "应为不小于 {min} 的整数，现为 {value}",
        "en": "expected an integer of at least {min}, got {value}",
    },
    "campaign.plan.inspectors_total": {
        "zh": "每个检查对象至少需要 {min} 名检查人员，现为每单位 {per} 人 × {n} 个单位 = {total} 人",
        "en": "every target needs at least {min} inspectors; {per} per department × {n} department(s) = {total}",
    },
    "campaign.plan.summary_before": {
        "zh": "总结报送日期 {date} 早于检查开始日期 {start}",
        "en": "the summary date {date} is before the window starts ({start})",
    },
    "campaign.plan.sampling_none": {
        "zh": "需要抽查规则：ratio（比例）、count（数量）或 by_class（按信用分类）",
        "en": "a sampling rule is required: ratio, count or by_class",
    },
    "campaign.plan.sampling_both": {
        "zh": "ratio 与 count 只能设置其中一个",
        "en": "set either ratio or count, not both",
    },
    "campaign.plan.ratio": {
        "zh": "「{value}」不是有效比例：应大于 0 且不超过 1，如 0.2 或 \"20%\"",
        "en": "“{value}” is not a valid ratio: it must be above 0 and at most 1, e.g. 0.2 or \"20%\"",
    },
    "campaign.plan.count": {
        "zh": "「{value}」不是有效数量：应为正整数",
        "en": "“{value}” is not a valid count: expected a positive integer",
    },
    "campaign.plan.class_unknown": {
        "zh": "信用风险分类「{value}」无效，应为以下之一：{accepted}（\"-\" 为未分类）",
        "en": "invalid credit-risk class “{value}”; use one of: {accepted} (\"-\" is unclassified)",
    },
    "campaign.plan.class_missing": {
        "zh": "信用风险分类 {classes} 没有抽查规则（\"-\" 为未分类）：请在 by_class 中列出，或另设 ratio 或 count"
              "作为其余分类的规则，不得免抽",
        "en": "credit-risk class(es) {classes} have no rule (\"-\" is unclassified): list them in by_class, or "
              "add ratio or count for the other classes — no target may be exempt",
    },
    "campaign.plan.item_unknown": {
        "zh": "「{value}」不在「{department}」的抽查事项清单中",
        "en": "“{value}” is not in the inspection items of “{department}”",
    },
    "campaign.plan.items_missing": {
        "zh": "参与单位「{department}」没有抽查事项：每个参与单位至少需要 1 项",
        "en": "“{department}” takes part but has no inspection item; every department needs at least one",
    },
    "campaign.plan.number_taken": {
        "zh": "编号「{value}」已被抽查任务 ID {id} 使用",
        "en": "the number “{value}” is already used by campaign ID {id}",
    },
    "campaign.plan.gone": {
        "zh": "所选的单位或抽查事项已从名录中删除或变更",
        "en": "a chosen department or item has been removed from the directory or changed",
    },

    # ---- warnings (the campaign is created anyway)
    "campaign.warn.annual": {
        "zh": "{department} 在 {year} 年已有 {count} 个抽查任务（细则 九：每年 2—{max} 次）",
        "en": "{department} already has {count} campaigns in {year} (rules 九: 2–{max} a year)",
    },
    "campaign.warn.scope_empty": {
        "zh": "检查对象名录中没有行业类别为「{value}」的对象",
        "en": "no target in the directory has the industry “{value}”",
    },
    "campaign.warn.window_past": {
        "zh": "检查时间 {start} 至 {end} 已经过去",
        "en": "the inspection window {start} to {end} is in the past",
    },
    "campaign.warn.provisional": {
        "zh": "截止日期（结果录入 {results}，公示 {publication}）跨入法定节假日安排尚未发布的年份，"
              "暂按周一至周五计算（暂定），日历更新后自动重算",
        "en": "the deadlines (results {results}, publication {publication}) reach into a year whose holiday "
              "schedule is not published yet; counted Monday–Friday for now (provisional) and recomputed when "
              "the calendar is updated",
    },

    # ---- choosing a campaign by id
    "campaign.choice.not_found": {
        "zh": "没有找到抽查任务「{ref}」。",
        "en": "No campaign “{ref}” was found.",
    },
    "campaign.choice.none_open": {
        "zh": "目前没有进行中的抽查任务。",
        "en": "There is no open campaign.",
    },
    "campaign.choice.several": {
        "zh": "有多个进行中的抽查任务，请在命令后写上任务 ID。",
        "en": "Several campaigns are open; add the campaign ID to the command.",
    },
    "campaign.choice.candidates": {"zh": "进行中的任务：", "en": "Open campaigns:"},
    "campaign.choice.candidate": {
        "zh": "ID {id} · {number}【{state}】{title}",
        "en": "ID {id} · {number} [{state}] {title}",
    },

    # ---- /campaigns
    "campaign.list.empty": {
        "zh": "还没有抽查任务。领导小组成员可在私聊中发送 /new 新建。",
        "en": "There are no campaigns yet. A leader can create one with /new in a private chat.",
    },
    "campaign.list.header": {"zh": "抽查任务（共 {count} 个）：", "en": "Campaigns ({count}):"},
    "campaign.list.entry": {
        "zh": "ID {id} · {number}【{state}】\n{title}\n牵头：{lead}\n检查时间：{start} 至 {end}\n"
              "结果录入截止：{results_due}；公示截止：{publication_due}{summary}",
        "en": "ID {id} · {number} [{state}]\n{title}\nLead: {lead}\nWindow: {start} to {end}\n"
              "Results due: {results_due}; publication due: {publication_due}{summary}",
    },
    "campaign.list.summary_due": {"zh": "；总结报送：{date}", "en": "; summary due: {date}"},
    "campaign.list.footer": {
        "zh": "在命令中用任务 ID 指定任务；只有一个进行中的任务时可省略。",
        "en": "Name a campaign by its ID in commands; it may be left out when only one campaign is open.",
    },

    # ---- CLI
    "campaign.cli.error": {"zh": "计划文件错误：{error}", "en": "计划文件错误：{error}"},
    "campaign.cli.created": {
        "zh": "已创建抽查任务 {number}「{title}」：结果录入截止 {results_due}，公示截止 {publication_due}",
        "en": "Created campaign {number} “{title}”: results due {results_due}, publication due {publication_due}",
    },
    "campaign.cli.warning": {"zh": "提示：{warning}", "en": "warning: {warning}"},
    "campaign.cli.header": {
        "zh": "ID\t编号\t状态\t检查时间\t结果录入截止\t公示截止\t名称",
        "en": "ID\tnumber\tstate\twindow\tresults due\tpublication due\ttitle",
    },

    # ---- /new: the guided conversation
    "new.start": {
        "zh": "新建抽查任务（共 6 步，随时发送 /cancel 取消）。\n"
              "第 1 步：请输入任务名称，如：2022年全县互联网上网服务营业场所经营活动联合抽查",
        "en": "New campaign (6 steps; send /cancel at any time to stop).\n"
              "Step 1: type the campaign title, e.g. 2022年全县互联网上网服务营业场所经营活动联合抽查",
    },
    "new.bad_title": {
        "zh": "任务名称不能为空，也不能超过 {max} 个字。请重新输入任务名称：",
        "en": "The title must not be empty or longer than {max} characters. Type the title again:",
    },
    "new.no_departments": {
        "zh": "单位名录是空的，无法新建任务。请管理员先导入名录（发送 /template 获取模板）。",
        "en": "The department directory is empty, so no campaign can be created. An admin must import the "
              "directories first (/template gives the templates).",
    },
    "new.departments_prompt": {
        "zh": "名称：{title}\n第 2 步：请选择参与单位（可多选，按点选顺序排列，第一个为牵头单位），选好后点「完成」。\n"
              "已选：{selected}",
        "en": "Title: {title}\nStep 2: choose the departments (several allowed, in the order you tap them; the "
              "first is the lead), then tap “Done”.\nChosen: {selected}",
    },
    "new.lead_mark": {"zh": "（牵头）", "en": " (lead)"},
    "new.nothing": {"zh": "无", "en": "none"},
    "new.done_button": {"zh": "完成", "en": "Done"},
    "new.need_department": {"zh": "请至少选择一个单位。", "en": "Choose at least one department."},
    "new.need_inspectors": {
        "zh": "每个检查对象至少需要 {min} 名检查人员：每单位抽 {per} 人，请至少选择 {n} 个单位。",
        "en": "Every target needs at least {min} inspectors: with {per} per department, choose at least {n} "
              "departments.",
    },
    "new.departments_without_items": {
        "zh": "以下单位在抽查事项清单中没有事项，不能参加：{departments}。请取消选择，或请管理员先导入其抽查事项。",
        "en": "These departments have no inspection items and cannot take part: {departments}. Deselect them, "
              "or ask an admin to import their items first.",
    },
    "new.departments_chosen": {"zh": "参与单位：{departments}", "en": "Departments: {departments}"},
    "new.items_prompt": {
        "zh": "第 3 步（第 {n}/{total} 个单位）：请选择「{department}」的抽查事项（可多选），选好后点「完成」。\n"
              "已选 {count} 项。",
        "en": "Step 3 (department {n} of {total}): choose the inspection items of “{department}” (several "
              "allowed), then tap “Done”.\n{count} chosen.",
    },
    "new.need_item": {
        "zh": "请为「{department}」至少选择一项抽查事项。",
        "en": "Choose at least one item for “{department}”.",
    },
    "new.items_chosen": {"zh": "{department}：{items}", "en": "{department}: {items}"},
    "new.no_scope": {
        "zh": "检查对象名录是空的，无法确定抽查范围。请管理员先导入检查对象，然后发送 /new 重新开始。",
        "en": "The target directory is empty, so there is no scope to choose. An admin must import the targets "
              "first; then send /new again.",
    },
    "new.scope_prompt": {
        "zh": "第 4 步：请选择抽查范围（行业类别，可多选；括号内为正常经营的对象户数），选好后点「完成」。\n已选：{selected}",
        "en": "Step 4: choose the scope (industries, several allowed; in brackets the number of operating "
              "targets), then tap “Done”.\nChosen: {selected}",
    },
    "new.need_scope": {"zh": "请至少选择一个行业类别。", "en": "Choose at least one industry."},
    "new.scope_chosen": {
        "zh": "抽查范围：{scope}（正常经营的对象共 {count} 户）",
        "en": "Scope: {scope} ({count} operating targets)",
    },
    "new.sampling_prompt": {
        "zh": "第 5 步：请选择抽查方式。",
        "en": "Step 5: choose how targets are sampled.",
    },
    "new.mode.ratio": {"zh": "按比例", "en": "By ratio"},
    "new.mode.count": {"zh": "按数量", "en": "By count"},
    "new.mode.class": {"zh": "按信用分类", "en": "By credit class"},
    "new.mode_chosen": {"zh": "第 5 步：抽查方式 — {mode}", "en": "Step 5: sampling — {mode}"},
    "new.ask_ratio": {
        "zh": "请输入抽查比例（范围内共 {count} 户），如 20% 或 0.2：",
        "en": "Type the sampling ratio ({count} targets in scope), e.g. 20% or 0.2:",
    },
    "new.ask_count": {
        "zh": "请输入抽查户数（范围内共 {count} 户），如 10：",
        "en": "Type how many targets to draw ({count} in scope), e.g. 10:",
    },
    "new.ask_class": {
        "zh": "按信用分类抽查（第 {n}/{total} 类）：请输入{cls}对象的抽查比例（范围内 {count} 户），如 10% 或 0.1：",
        "en": "By credit class ({n} of {total}): type the sampling ratio for {cls} targets ({count} in scope), "
              "e.g. 10% or 0.1:",
    },
    "new.bad_ratio": {
        "zh": "「{value}」不是有效的比例：请输入大于 0、不超过 100% 的比例，如 20% 或 0.2。",
        "en": "“{value}” is not a valid ratio: type a ratio above 0 and at most 100%, e.g. 20% or 0.2.",
    },
    "new.bad_count": {
        "zh": "「{value}」不是有效的户数：请输入正整数，如 10。",
        "en": "“{value}” is not a valid number of targets: type a positive whole number, e.g. 10.",
    },
    "new.sampling_chosen": {"zh": "抽查方式：{sampling}", "en": "Sampling: {sampling}"},
    "new.window_prompt": {
        "zh": "第 6 步：请输入检查时间（开始日期和结束日期），如：2022-09-26 2022-09-28",
        "en": "Step 6: type the inspection window (start and end date), e.g. 2022-09-26 2022-09-28",
    },
    "new.ask_window_end": {
        "zh": "开始日期：{start}。请输入结束日期，如 2022-09-28：",
        "en": "Start: {start}. Type the end date, e.g. 2022-09-28:",
    },
    "new.bad_window": {
        "zh": "没有看懂「{value}」：请输入两个日期（开始 结束），如 2022-09-26 2022-09-28。",
        "en": "Could not read “{value}”: type two dates (start end), e.g. 2022-09-26 2022-09-28.",
    },
    "new.window_order": {
        "zh": "开始日期 {start} 晚于结束日期 {end}，请重新输入检查时间，如 2022-09-26 2022-09-28。",
        "en": "The start {start} is after the end {end}; type the window again, e.g. 2022-09-26 2022-09-28.",
    },
    "new.summary": {
        "zh": "请确认新建抽查任务：\n名称：{title}\n编号：{number}（创建时生成）\n牵头单位：{lead}\n"
              "参与单位及抽查事项：\n{departments}\n抽查范围：{scope}\n抽查方式：{sampling}\n"
              "每组每单位检查人员：{per} 人；{groups}\n检查时间：{start} 至 {end}\n"
              "结果录入截止：{results_due}\n公示截止：{publication_due}",
        "en": "Please confirm the new campaign:\nTitle: {title}\nNumber: {number} (given on creation)\n"
              "Lead: {lead}\nDepartments and items:\n{departments}\nScope: {scope}\nSampling: {sampling}\n"
              "Inspectors per department per group: {per}; {groups}\nWindow: {start} to {end}\n"
              "Results due: {results_due}\nPublication due: {publication_due}",
    },
    "new.summary_department": {
        "zh": "{n}. {department}{lead}：{items}",
        "en": "{n}. {department}{lead}: {items}",
    },
    "new.confirm_button": {"zh": "确认创建", "en": "Create"},
    "new.cancel_button": {"zh": "取消", "en": "Cancel"},
    "new.created": {
        "zh": "已创建抽查任务：{number}\n{title}\n任务 ID：{id}（在命令中用它指定此任务）\n"
              "结果录入截止：{results_due}\n公示截止：{publication_due}",
        "en": "Campaign created: {number}\n{title}\nCampaign ID: {id} (use it to name this campaign in "
              "commands)\nResults due: {results_due}\nPublication due: {publication_due}",
    },
    "new.warnings": {"zh": "提示：", "en": "Warnings:"},
    "new.failed": {
        "zh": "未能创建：{error}\n未做任何更改。请发送 /new 重新开始。",
        "en": "Not created: {error}\nNothing was changed. Send /new to start again.",
    },
    "new.cancelled": {
        "zh": "已取消新建抽查任务，未做任何更改。",
        "en": "Campaign creation cancelled; nothing was changed.",
    },
    "new.nothing_to_cancel": {
        "zh": "当前没有进行中的操作。",
        "en": "There is nothing to cancel.",
    },
    "new.expired": {
        "zh": "新建抽查任务因超过 {minutes} 分钟无操作已结束，未做任何更改。请发送 /new 重新开始。",
        "en": "The new campaign was idle for more than {minutes} minutes and has ended; nothing was changed. "
              "Send /new to start again.",
    },
    "new.press_button": {
        "zh": "请点击上方消息中的按钮进行选择；发送 /cancel 取消。",
        "en": "Please tap one of the buttons in the message above; send /cancel to stop.",
    },
}
