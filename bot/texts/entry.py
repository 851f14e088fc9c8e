"""Texts of result entry (/enter), /tasks and /progress (SPEC §6). Inspectors read these on phones: short lines,
the target and the item first."""

TEXTS: dict[str, dict[str, str]] = {
    # ---- /enter: the target list
    "entry.no_tasks": {
        "zh": "您目前没有需要录入结果的检查任务。抽中后会收到通知；发送 /tasks 可查看任务。",
        "en": "You have no inspection results to enter. You will be told when you are drawn; /tasks shows your "
              "assignments.",
    },
    "entry.choose_target": {
        "zh": "请选择要录入结果的检查对象（{department}；共 {total} 个，未提交 {pending} 个）：\n"
              "按钮上的数字为 已填/事项数，✅ 为本单位已提交。",
        "en": "Choose the target to enter results for ({department}; {total} in all, {pending} not submitted):\n"
              "the numbers are answered/items; ✅ means your department has submitted.",
    },
    "entry.all_submitted": {
        "zh": "以下检查对象本单位的结果均已提交 ✅（{department}；共 {total} 个，未提交 {pending} 个）。",
        "en": "Your department has submitted the results for all these targets ✅ ({department}; {total} in all, "
              "{pending} not submitted).",
    },
    "entry.page": {"zh": "第 {page}/{pages} 页", "en": "page {page}/{pages}"},
    "entry.group_prefix": {"zh": "{group}组·", "en": "G{group}·"},
    "entry.target_button": {"zh": "{prefix}{name} {answered}/{total}", "en": "{prefix}{name} {answered}/{total}"},
    "entry.target_done": {"zh": "✅ {prefix}{name}", "en": "✅ {prefix}{name}"},
    "entry.target_chosen": {
        "zh": "检查对象：{target}\n（{number} 第 {group} 组，已填 {answered}/{total} 项）",
        "en": "Target: {target}\n({number}, group {group}; {answered}/{total} items answered)",
    },
    "entry.resume": {
        "zh": "继续上次的录入：{target}\n（{number} 第 {group} 组，已填 {answered}/{total} 项）",
        "en": "Continuing where you left off: {target}\n({number}, group {group}; {answered}/{total} items "
              "answered)",
    },

    # ---- /enter: one item
    "entry.item_prompt": {
        "zh": "{target}\n第 {n}/{total} 项 · {department}\n【{item}】\n检查内容：{content}\n{current}请点按钮选择检查结果：",
        "en": "{target}\nItem {n}/{total} · {department}\n[{item}]\nWhat to check: {content}\n{current}Choose the "
              "result:",
    },
    "entry.item_current": {"zh": "当前结果：{answer}\n", "en": "Current answer: {answer}\n"},
    "entry.back_button": {"zh": "‹ 返回", "en": "‹ back"},
    "entry.ask_problem_note": {
        "zh": "第 {n}/{total} 项【{item}】：{answer}\n请简要描述发现的问题（必填，{max} 字以内），直接输入文字发送：",
        "en": "Item {n}/{total} [{item}]: {answer}\nDescribe the problem briefly (required, at most {max} "
              "characters) — just type it:",
    },
    "entry.ask_optional_note": {
        "zh": "第 {n}/{total} 项【{item}】：{answer}\n如需备注请直接输入文字（{max} 字以内）；无需备注请点“跳过”。",
        "en": "Item {n}/{total} [{item}]: {answer}\nType a note if you want one (at most {max} characters), or "
              "press “skip”.",
    },
    "entry.skip_button": {"zh": "跳过", "en": "skip"},
    "entry.rechoose_button": {"zh": "‹ 重选结果", "en": "‹ change result"},
    "entry.note_skipped": {
        "zh": "第 {n}/{total} 项【{item}】：{answer}（无备注）",
        "en": "Item {n}/{total} [{item}]: {answer} (no note)",
    },
    "entry.noted": {
        "zh": "第 {n}/{total} 项【{item}】：{answer}\n说明：{note}",
        "en": "Item {n}/{total} [{item}]: {answer}\nNote: {note}",
    },
    "entry.press_code": {
        "zh": "请点按钮选择检查结果编号（也可直接发送编号数字，如 1）。未做任何更改。",
        "en": "Please press a button to choose the result code (or send its number, e.g. 1). Nothing was changed.",
    },
    "entry.press_target": {
        "zh": "请点按钮选择检查对象。未做任何更改。",
        "en": "Please press a button to choose a target. Nothing was changed.",
    },
    "entry.press_button": {
        "zh": "请点按钮操作（提交 / 修改 / 检查日期）。未做任何更改。",
        "en": "Please use the buttons (submit / change / inspection date). Nothing was changed.",
    },
    "entry.lost": {
        "zh": "找不到正在录入的检查对象，请发送 /enter 重新开始（已填写的内容均已保存）。",
        "en": "The target being entered was not found; send /enter to start again (your answers are saved).",
    },

    # ---- /enter: summary, 修改, 检查日期
    "entry.summary": {
        "zh": "请核对检查结果：\n{target}（{department}）\n{lines}\n\n检查日期：{date}{default}\n本单位结果：{result}{problem}"
              "\n\n确认无误请点“提交”。提交后结果锁定，如需更正须经分管领导同意（/correct）。",
        "en": "Please check the results:\n{target} ({department})\n{lines}\n\nInspection date: {date}{default}\n"
              "Department result: {result}{problem}\n\nPress “submit” if correct. Submitted results are locked; a "
              "correction needs the department head's approval (/correct).",
    },
    "entry.item_line": {"zh": "{n}. {item}：{answer}", "en": "{n}. {item}: {answer}"},
    "entry.note_suffix": {"zh": "\n   说明：{note}", "en": "\n   note: {note}"},
    "entry.date_default": {
        "zh": "（默认，可点“检查日期”修改）",
        "en": " (default; “inspection date” changes it)",
    },
    "entry.problem_mark": {"zh": "（发现问题）", "en": " (problem found)"},
    "entry.submit_button": {"zh": "提交", "en": "submit"},
    "entry.edit_button": {"zh": "修改", "en": "change"},
    "entry.date_button": {"zh": "检查日期", "en": "inspection date"},
    "entry.summary_back_button": {"zh": "‹ 返回汇总", "en": "‹ back to summary"},
    "entry.pick_item": {"zh": "{target}\n请选择要修改的检查事项：", "en": "{target}\nChoose the item to change:"},
    "entry.pick_item_button": {"zh": "{n}. {item} — {code}", "en": "{n}. {item} — {code}"},
    "entry.pick_date": {
        "zh": "{target}\n请选择检查日期（检查时间 {start} 至 {end}，不晚于今天）。\n当前：{date}",
        "en": "{target}\nChoose the inspection date (window {start} to {end}, not after today).\nCurrent: {date}",
    },

    # ---- /enter: submission
    "entry.submitted_alert": {"zh": "已提交。", "en": "Submitted."},
    "entry.submitted": {
        "zh": "✅ 已提交：{target}（{department}）\n{lines}\n\n检查日期：{date}\n本单位结果：{result}{problem}\n{leader}",
        "en": "✅ Submitted: {target} ({department})\n{lines}\n\nInspection date: {date}\nDepartment result: "
              "{result}{problem}\n{leader}",
    },
    "entry.leader_told": {"zh": "已通知组长 {leader}。", "en": "Group leader {leader} has been told."},
    "entry.followup_opened": {
        "zh": "已为 {count} 项“发现问题待后续处理”建立后续处理记录（/followup）。",
        "en": "{count} follow-up record(s) opened for “problem found, to be handled” (/followup).",
    },
    "entry.campaign_entered": {
        "zh": "{number} 的全部检查结果均已录入。",
        "en": "All results of {number} are now entered.",
    },
    "entry.leader_notice": {
        "zh": "【检查结果已提交】{number} 第 {group} 组\n检查对象：{target}\n{department}：{result}{problem}\n{lines}\n"
              "录入人：{name}，检查日期 {date}\n本组进度：{done}/{expected}",
        "en": "[Results submitted] {number}, group {group}\nTarget: {target}\n{department}: {result}{problem}\n"
              "{lines}\nEntered by {name}, inspected on {date}\nGroup progress: {done}/{expected}",
    },

    # ---- /enter: leaving
    "entry.cancelled": {
        "zh": "已退出录入。已填写的内容均已保存，发送 /enter 可从中断处继续。",
        "en": "Left result entry. Your answers are saved; /enter continues where you left off.",
    },
    "entry.ended": {
        "zh": "本次录入已结束，此按钮不再有效。已填写的内容均已保存，请发送 /enter 继续。",
        "en": "This entry session has ended and the button no longer works. Your answers are saved; send /enter "
              "to continue.",
    },
    "entry.expired": {
        "zh": "已超过 {minutes} 分钟未操作，本次录入已结束。已填写的内容均已保存，发送 /enter 可从中断处继续。",
        "en": "No action for {minutes} minutes, so result entry has ended. Your answers are saved; /enter "
              "continues where you left off.",
    },

    # ---- /enter: refusals (alerts: keep them under 200 characters)
    "entry.refused.not_assigned": {
        "zh": "您不在该检查对象所在检查组的现任检查人员中，不能录入。未做任何更改。",
        "en": "You are not a current inspector of the group holding this target. Nothing was changed.",
    },
    "entry.refused.closed": {
        "zh": "该抽取结果已被重新抽取取代，或抽查任务已结束，不能录入。未做任何更改。",
        "en": "This draw has been superseded or the campaign is closed. Nothing was changed.",
    },
    "entry.refused.not_your_item": {
        "zh": "该检查事项不是您所在单位在本次抽查中的事项，不能录入。未做任何更改。",
        "en": "This item is not one of your department's items in this campaign. Nothing was changed.",
    },
    "entry.refused.unknown_code": {
        "zh": "没有编号为 {code} 的检查结果。未做任何更改。",
        "en": "There is no result code {code}. Nothing was changed.",
    },
    "entry.refused.submitted": {
        "zh": "“{target}”的{department}检查结果已由 {name} 于 {at} 提交，不能再录入。如需更正请使用 /correct。",
        "en": "The {department} results for “{target}” were submitted by {name} at {at}; they cannot be entered "
              "again. Use /correct for a correction.",
    },
    "entry.refused.no_code": {
        "zh": "请先选择该事项的检查结果。未做任何更改。",
        "en": "Choose the item's result code first. Nothing was changed.",
    },
    "entry.refused.note_required": {
        "zh": "该检查结果需要填写问题描述，不能跳过。请直接输入文字。",
        "en": "This result needs a description of the problem and cannot be skipped. Please type it.",
    },
    "entry.refused.note_empty": {
        "zh": "说明不能为空，请输入文字。",
        "en": "The note cannot be empty; please type it.",
    },
    "entry.refused.note_too_long": {
        "zh": "说明过长（{length} 字），请精简到 {max} 字以内后重新发送。",
        "en": "The note is too long ({length} characters); please send at most {max}.",
    },
    "entry.refused.bad_date": {
        "zh": "{date} 不是可选的检查日期（须在检查时间内且不晚于今天）。未做任何更改。",
        "en": "{date} cannot be the inspection date (it must lie in the window and not after today). Nothing "
              "was changed.",
    },
    "entry.refused.incomplete": {
        "zh": "还有 {count} 项未填写完成，不能提交。",
        "en": "{count} item(s) are not answered yet; cannot submit.",
    },

    # ---- /tasks
    "tasks.none": {
        "zh": "您目前没有检查任务。",
        "en": "You have no inspection assignments.",
    },
    "tasks.header": {"zh": "我的检查任务（{count}）", "en": "My inspection assignments ({count})"},
    "tasks.assignment": {
        "zh": "{number} {title}\n第 {group} 组 · 组长：{leader} · 本单位：{department}\n检查时间：{start} 至 {end}\n"
              "结果录入截止：{due}\n已提交 {done}/{count}：\n{targets}",
        "en": "{number} {title}\nGroup {group} · leader: {leader} · your department: {department}\nWindow: {start} "
              "to {end}\nResults due: {due}\nSubmitted {done}/{count}:\n{targets}",
    },
    "tasks.target_pending": {
        "zh": "  {n}. {name} — 待录入 {answered}/{total}",
        "en": "  {n}. {name} — to enter, {answered}/{total} answered",
    },
    "tasks.target_done": {
        "zh": "  {n}. {name} — 已提交（{by}，检查日期 {date}）",
        "en": "  {n}. {name} — submitted ({by}, inspected {date})",
    },
    "tasks.footer": {"zh": "发送 /enter 录入检查结果。", "en": "Send /enter to enter results."},

    # ---- /progress
    "progress.header": {
        "zh": "{number} {title}\n录入进度（抽取 #{draw_id}，状态：{state}）",
        "en": "{number} {title}\nEntry progress (draw #{draw_id}, state: {state})",
    },
    "progress.no_draw": {
        "zh": "尚未抽取，没有录入进度。结果录入截止：{due}",
        "en": "Not drawn yet, so nothing to enter. Results due: {due}",
    },
    "progress.group": {
        "zh": "第 {group} 组（组长 {leader}，{targets} 户）{entered}/{expected}\n  {departments}",
        "en": "Group {group} (leader {leader}, {targets} targets) {entered}/{expected}\n  {departments}",
    },
    "progress.department": {"zh": "{department} {entered}/{expected}", "en": "{department} {entered}/{expected}"},
    "progress.total": {
        "zh": "合计：{entered}/{expected}（{percent}%）\n各单位：{departments}\n结果录入截止：{due}",
        "en": "Total: {entered}/{expected} ({percent}%)\nBy department: {departments}\nResults due: {due}",
    },
    "progress.complete": {"zh": "✅ 全部结果已录入。", "en": "✅ All results are entered."},
    # -- the shortcuts (issue 13): a clean target in two presses, problems first, notes without a detour
    "entry.all_clean_button": {"zh": "全部「{code}」", "en": "All “{code}”"},
    "entry.problems_first_button": {"zh": "标记问题事项", "en": "Mark the items with problems"},
    "entry.rest_clean_button": {"zh": "其余全部「{code}」", "en": "All others “{code}”"},
    "entry.note_button": {"zh": "备注第 {n} 项", "en": "Note on item {n}"},
    "entry.previous_done": {"zh": "✓ 第 {n} 项【{item}】：{answer}\n\n", "en": "✓ Item {n} [{item}]: {answer}\n\n"},
    "entry.bulk_mark": {"zh": "〔批量〕", "en": " [bulk]"},
    "entry.bulk_notice": {
        "zh": "注意：其中 {count}/{total} 项为批量填写「{code}」（标〔批量〕），请逐项核对；如需更改请点“修改”。",
        "en": "Note: {count} of {total} items were filled in bulk with “{code}” (marked [bulk]); check each one, and "
              "press “change” to change any.",
    },
    "entry.problems_prompt": {
        "zh": "{target}（{department}）\n请点选有问题的事项，逐项选择结果并填写问题描述（已标 {marked}/{total} 项）。"
              "标完后点“其余全部「{code}」”。",
        "en": "{target} ({department})\nPick each item that had a problem, choose its result and describe it "
              "({marked}/{total} marked). Then press “All others “{code}””.",
    },
    "entry.ask_note_for": {
        "zh": "请输入第 {n}/{total} 项【{item}】（{answer}）的备注（{max} 字以内），直接输入文字发送：",
        "en": "Type the note for item {n}/{total} [{item}] ({answer}), at most {max} characters:",
    },
    "entry.note_added": {
        "zh": "已为第 {n} 项【{item}】添加备注：{note}",
        "en": "Note added to item {n} [{item}]: {note}",
    },
    "entry.refused.no_clean_code": {
        "zh": "本地的检查结果编号中没有“未发现问题”类的编号，不能批量填写。请逐项选择。",
        "en": "The configured result codes have no “nothing found” code, so nothing can be filled in bulk. Please "
              "answer each item.",
    },
}
