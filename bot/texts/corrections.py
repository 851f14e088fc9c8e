"""Texts of /correct (corrections approved by the department head, SPEC §6.8) and /followup (后续处理, §6.9)."""

TEXTS: dict[str, dict[str, str]] = {
    # ---- /correct
    "correct.none": {
        "zh": "您目前没有可以申请更正的检查结果。只能更正本单位在您所在检查组的检查对象上已提交的结果。",
        "en": "There is no result you can ask to correct. You can correct submitted results of your department on "
              "the targets of your inspection group.",
    },
    "correct.pick_target": {
        "zh": "申请更正检查结果（检查结果一经录入不得随意修改，更正需经本单位分管领导同意）。\n请选择检查对象（共 {count} 个）：",
        "en": "Ask for a correction of a result (entered results are locked; a correction needs your department "
              "head's approval).\nPick the target ({count} in all):",
    },
    "correct.target_button": {"zh": "{name}（{count} 项）", "en": "{name} ({count} items)"},
    "correct.target_chosen": {
        "zh": "检查对象：{name}（{uscc}）\n任务：{number}「{title}」",
        "en": "Target: {name} ({uscc})\nCampaign: {number} “{title}”",
    },
    "correct.pick_item": {
        "zh": "{department}的检查结果：\n{lines}\n\n请选择要更正的抽查事项：",
        "en": "Results of {department}:\n{lines}\n\nPick the item to correct:",
    },
    "correct.item_line": {"zh": "{n}. {item}：{code}{pending}", "en": "{n}. {item}: {code}{pending}"},
    "correct.item_button": {"zh": "{n}. {item} · 当前 {code}", "en": "{n}. {item} · now {code}"},
    "correct.pending_mark": {"zh": "（更正申请 {correction_id} 待审批）",
                             "en": " (correction {correction_id} awaiting approval)"},
    "correct.item_chosen": {"zh": "抽查事项：{item}\n当前结果：{code}", "en": "Item: {item}\nCurrent result: {code}"},
    "correct.pick_code": {
        "zh": "抽查事项：{item}\n检查内容：{content}\n当前结果：{code}{note}\n录入人：{submitter}（第 {version} 版）\n\n请选择更正后的检查结果：",
        "en": "Item: {item}\nWhat is checked: {content}\nCurrent result: {code}{note}\nEntered by: {submitter} "
              "(version {version})\n\nPick the corrected result:",
    },
    "correct.note_suffix": {"zh": "\n说明：{note}", "en": "\nNote: {note}"},
    "correct.code_chosen": {"zh": "更正：{old} → {new}", "en": "Correction: {old} → {new}"},
    "correct.ask_note_required": {
        "zh": "请简要描述发现的问题（必填，{max} 字以内）：",
        "en": "Describe the problem found, briefly (required, at most {max} characters):",
    },
    "correct.ask_note_optional": {
        "zh": "可输入说明（{max} 字以内），或点“跳过”：",
        "en": "Type a note (at most {max} characters), or press “Skip”:",
    },
    "correct.skip_button": {"zh": "跳过", "en": "Skip"},
    "correct.note_required": {
        "zh": "该检查结果需要填写问题描述，请输入：",
        "en": "This result needs a description of the problem; please type it:",
    },
    "correct.ask_reason": {
        "zh": "请输入更正理由（必填，{max} 字以内），例如：录入时误选结果代码。",
        "en": "Type the reason for the correction (required, at most {max} characters), e.g. the wrong code was "
              "picked when entering.",
    },
    "correct.reason_required": {"zh": "更正理由不能为空，请输入：", "en": "The reason cannot be empty; please type it:"},
    "correct.too_long": {
        "zh": "内容过长（上限 {max} 字），请精简后重新输入。",
        "en": "That is too long (at most {max} characters); please shorten it.",
    },
    "correct.summary": {
        "zh": "请确认更正申请：\n任务：{number}\n检查对象：{target}\n抽查事项：{item}\n原结果：{old}\n更正为：{new}{note}\n理由：{reason}\n\n提交后由本单位分管领导审批，同意后才会更改。",
        "en": "Please confirm the correction request:\nCampaign: {number}\nTarget: {target}\nItem: {item}\n"
              "Current result: {old}\nCorrect to: {new}{note}\nReason: {reason}\n\nYour department head decides; "
              "nothing changes before the approval.",
    },
    "correct.submit_button": {"zh": "提交申请", "en": "Submit request"},
    "correct.cancel_button": {"zh": "取消", "en": "Cancel"},
    "correct.filed": {
        "zh": "更正申请已提交（编号 {correction_id}），等待 {approvers} 审批，结果会通知您。",
        "en": "Correction request {correction_id} submitted; waiting for {approvers}. You will be told the decision.",
    },
    "correct.not_filed": {"zh": "更正申请未提交：{error}", "en": "The correction request was not submitted: {error}"},
    "correct.cancelled": {"zh": "已取消更正申请，未做任何更改。", "en": "Correction request cancelled; nothing changed."},
    "correct.expired": {
        "zh": "更正申请已超过 {minutes} 分钟无操作，已自动结束，未做任何更改。需要时请重新发送 /correct。",
        "en": "The correction request was idle for more than {minutes} minutes and has ended; nothing changed. "
              "Send /correct to start again.",
    },
    "correct.press_button": {
        "zh": "请点击上方的按钮选择，或发送 /cancel 取消。",
        "en": "Please use the buttons above, or send /cancel to stop.",
    },
    # refusals (also raised by the service)
    "correct.not_yours": {
        "zh": "您不能更正这条结果：只能更正本单位在您所在检查组的检查对象上已提交的结果。未做任何更改。",
        "en": "You cannot correct this result: only submitted results of your department on your group's targets. "
              "Nothing changed.",
    },
    "correct.bad_code": {"zh": "检查结果代码 {code} 不在代码表中。", "en": "Result code {code} is not in the code list."},
    "correct.same_code": {
        "zh": "更正后的结果与当前结果相同（{code}），无需更正。",
        "en": "The corrected result equals the current one ({code}); nothing to correct.",
    },
    "correct.already_pending": {
        "zh": "这条结果已有一项待审批的更正申请（编号 {correction_id}），请等审批后再申请。",
        "en": "This result already has a correction awaiting approval ({correction_id}); wait for the decision.",
    },
    "correct.no_approver": {
        "zh": "申请未提交：更正须由{department}的分管领导审批（没有已绑定的分管领导时由领导小组成员审批），申请人本人不能审批，"
              "目前没有其他已绑定账号的人可以审批。请联系管理员为他们发放邀请码后再申请。",
        "en": "Not submitted: a correction must be decided by a head of {department} (a leader when the department has "
              "no bound head), never by the requester, and nobody else with a bound account can decide it now. Ask an "
              "admin to send them invite codes, then ask again.",
    },
    # ---- the approver
    "correct.ask": {
        "zh": "【检查结果更正申请】编号 {correction_id}\n{name}（{department}）申请更正：\n任务：{number} 第 {group} 组\n检查对象：{target}（{uscc}）\n抽查事项：{item}\n原结果：{old}{old_note}\n更正为：{new}{new_note}\n理由：{reason}\n原录入人：{submitter}（当前第 {version} 版）\n\n同意后结果将更正，原结果保留在历史记录中。",
        "en": "[Result correction request] {correction_id}\n{name} ({department}) asks to correct:\n"
              "Campaign: {number} group {group}\nTarget: {target} ({uscc})\nItem: {item}\nCurrent result: {old}"
              "{old_note}\nCorrect to: {new}{new_note}\nReason: {reason}\nEntered by: {submitter} (now version "
              "{version})\n\nOn approval the result changes; the old value stays in the history.",
    },
    "correct.not_your_department": {
        "zh": "只有该结果所属单位的分管领导（该单位没有已绑定的分管领导时为领导小组成员）可以审批，申请人不能审批自己的申请。未做任何更改。",
        "en": "Only the head of the result's department (a leader, when that department has no bound head) can "
              "decide this, and never the requester. Nothing changed.",
    },
    "correct.already_decided": {
        "zh": "该更正申请（编号 {correction_id}）已处理（{state}），未做更改。",
        "en": "Correction {correction_id} was already decided ({state}); nothing changed.",
    },
    "correct.state.pending": {"zh": "待审批", "en": "pending"},
    "correct.state.approved": {"zh": "已同意", "en": "approved"},
    "correct.state.rejected": {"zh": "已驳回", "en": "rejected"},
    "correct.approved_note": {
        "zh": "✅ 已同意更正申请 {correction_id}：{target} · {item} 由 {old} 更正为 {new}（第 {version} 版）。",
        "en": "✅ Correction {correction_id} approved: {target} · {item} changed from {old} to {new} "
              "(version {version}).",
    },
    "correct.rejected_note": {
        "zh": "❌ 已驳回更正申请 {correction_id}，结果保持 {old}。",
        "en": "❌ Correction {correction_id} rejected; the result stays {old}.",
    },
    "correct.your_approved": {
        "zh": "您的更正申请（编号 {correction_id}）已由 {approver} 同意：{target} · {item} 由 {old} 更正为 {new}（第 {version} 版）。{followup}",
        "en": "Your correction {correction_id} was approved by {approver}: {target} · {item} changed from {old} to "
              "{new} (version {version}).{followup}",
    },
    "correct.your_rejected": {
        "zh": "您的更正申请（编号 {correction_id}）被 {approver} 驳回：{target} · {item} 保持 {old}。",
        "en": "Your correction {correction_id} was rejected by {approver}: {target} · {item} stays {old}.",
    },
    "correct.told_submitter": {
        "zh": "【检查结果更正】您录入的 {target} · {item} 经 {requester} 申请、{approver} 同意，由 {old} 更正为 {new}（第 {version} 版）。理由：{reason}{followup}",
        "en": "[Result corrected] {target} · {item}, which you entered, was changed from {old} to {new} "
              "(version {version}) at {requester}'s request, approved by {approver}. Reason: {reason}{followup}",
    },
    "correct.told_leader": {
        "zh": "【检查结果更正】{number} 第 {group} 组：{target} · {item}（{department}）经 {approver} 同意，由 {old} 更正为 {new}。理由：{reason}{followup}",
        "en": "[Result corrected] {number} group {group}: {target} · {item} ({department}) was changed from {old} "
              "to {new}, approved by {approver}. Reason: {reason}{followup}",
    },
    "correct.followup_opened": {
        "zh": "\n已建立后续处理记录，请用 /followup 登记处理措施。",
        "en": "\nA follow-up record was opened; record the measures with /followup.",
    },
    "correct.followup_kept": {
        "zh": "\n原有的后续处理记录保留（已注明此次更正），请用 /followup 继续登记或办结。",
        "en": "\nThe existing follow-up record is kept (the correction is noted on it); continue or close it with "
              "/followup.",
    },
    # ---- /followup
    "followup.none": {  # code: the follow-up code shown, e.g. 8 发现问题待后续处理
        "zh": "本单位目前没有后续处理记录（检查结果为“{code}”时建立）。",
        "en": "Your department has no follow-up records (they open with the result “{code}”).",
    },
    "followup.none_no_code": {  # the configured code set has no follow-up code
        "zh": "本单位目前没有后续处理记录。",
        "en": "Your department has no follow-up records.",
    },
    "followup.list": {
        "zh": "本单位的后续处理（未完结 {open} 项{closed}）：\n{lines}\n\n请选择一项（✔ 为已完结，仅供查看）：",
        "en": "Your department's follow-ups ({open} open{closed}):\n{lines}\n\nPick one (✔ closed, read-only):",
    },
    "followup.list_closed": {"zh": "，最近已完结 {count} 项", "en": ", {count} recently closed"},
    "followup.no_open": {"zh": "（没有未完结的记录）", "en": "(none open)"},
    "followup.line": {
        "zh": "{n}. {target} · {item}（{number}）{corrected}— 措施：{measures}",
        "en": "{n}. {target} · {item} ({number}){corrected} — measures: {measures}",
    },
    "followup.button": {"zh": "{target} · {item}", "en": "{target} · {item}"},
    "followup.card": {
        "zh": "【后续处理】{number}\n检查对象：{target}（{uscc}）\n抽查事项：{item}\n检查结果：{code}{corrected}\n处理措施：{measures}\n罚款金额：{amount}\n状态：{state}\n备注：{note}",
        "en": "[Follow-up] {number}\nTarget: {target} ({uscc})\nItem: {item}\nResult: {code}{corrected}\n"
              "Measures: {measures}\nFine: {amount}\nState: {state}\nNotes: {note}",
    },
    "followup.corrected": {"zh": "（结果已更正，原为 {code}）", "en": " (corrected; it was {code})"},
    "followup.no_measures": {"zh": "尚无", "en": "none yet"},
    "followup.no_amount": {"zh": "—", "en": "—"},
    "followup.amount": {"zh": "{amount} 元", "en": "{amount} yuan"},
    "followup.state.open": {"zh": "未完结", "en": "open"},
    "followup.state.closed": {"zh": "已完结（{date}）", "en": "closed ({date})"},
    "followup.readonly": {"zh": "此记录已完结，仅供查看，不能修改。", "en": "This record is closed: read-only."},
    "followup.pick_measures": {
        "zh": "请勾选已采取的处理措施（可多选），完成后点“下一步”：",
        "en": "Tick the measures taken (several allowed), then press “Next”:",
    },
    "followup.measure.order": {"zh": "责令改正", "en": "order to correct (责令改正)"},
    "followup.measure.abnormal": {"zh": "列入经营异常名录", "en": "list of abnormal operations (列入经营异常名录)"},
    "followup.measure.case": {"zh": "立案调查", "en": "case opened (立案调查)"},
    "followup.measure.penalty": {"zh": "行政处罚", "en": "administrative penalty (行政处罚)"},
    "followup.measure.transfer": {"zh": "移送", "en": "transferred (移送)"},
    "followup.next_button": {"zh": "下一步", "en": "Next"},
    "followup.measures_chosen": {"zh": "处理措施：{measures}", "en": "Measures: {measures}"},
    "followup.ask_amount": {
        "zh": "请输入行政处罚的罚款金额（元，正数，最多两位小数，例如 5000 或 5000.50）：{current}",
        "en": "Type the fine of the administrative penalty (yuan, a positive number with at most two decimals, "
              "e.g. 5000 or 5000.50):{current}",
    },
    "followup.current_amount": {"zh": "\n当前登记：{amount} 元", "en": "\nRecorded now: {amount} yuan"},
    "followup.bad_amount": {
        "zh": "“{value}”不是有效的金额。请输入正数，最多两位小数（例如 5000 或 5000.50）：",
        "en": "“{value}” is not a valid amount. Type a positive number with at most two decimals (e.g. 5000 or "
              "5000.50):",
    },
    "followup.amount_required": {
        "zh": "选择了行政处罚，请填写罚款金额。",
        "en": "An administrative penalty is ticked: the amount is required.",
    },
    "followup.amount_without_penalty": {
        "zh": "未选择行政处罚，不能登记罚款金额。",
        "en": "No administrative penalty is ticked, so no amount can be recorded.",
    },
    "followup.ask_note": {
        "zh": "可输入备注（{max} 字以内，将注明日期追加到记录中），或点“跳过”：",
        "en": "Type a note (at most {max} characters; it is added to the record with today's date), or press "
              "“Skip”:",
    },
    "followup.skip_button": {"zh": "跳过", "en": "Skip"},
    "followup.summary": {
        "zh": "请确认：\n检查对象：{target}\n抽查事项：{item}\n处理措施：{measures}\n罚款金额：{amount}\n新增备注：{note}\n\n“保存并办结”后记录不能再修改。",
        "en": "Please confirm:\nTarget: {target}\nItem: {item}\nMeasures: {measures}\nFine: {amount}\n"
              "New note: {note}\n\nAfter “Save and close” the record can no longer be changed.",
    },
    "followup.save_button": {"zh": "保存", "en": "Save"},
    "followup.close_button": {"zh": "保存并办结", "en": "Save and close"},
    "followup.cancel_button": {"zh": "取消", "en": "Cancel"},
    "followup.saved": {
        "zh": "已保存后续处理：{target} · {item}，处理措施：{measures}。",
        "en": "Follow-up saved: {target} · {item}, measures: {measures}.",
    },
    "followup.closed_done": {
        "zh": "已保存并办结：{target} · {item}，处理措施：{measures}，办结日期 {date}。",
        "en": "Saved and closed: {target} · {item}, measures: {measures}, closed on {date}.",
    },
    "followup.not_saved": {"zh": "未保存：{error}", "en": "Not saved: {error}"},
    "followup.cancelled": {"zh": "已取消，未做任何更改。", "en": "Cancelled; nothing changed."},
    "followup.expired": {
        "zh": "后续处理登记已超过 {minutes} 分钟无操作，已自动结束，未做任何更改。需要时请重新发送 /followup。",
        "en": "The follow-up entry was idle for more than {minutes} minutes and has ended; nothing changed. "
              "Send /followup to start again.",
    },
    "followup.press_button": {
        "zh": "请点击上方的按钮选择，或发送 /cancel 取消。",
        "en": "Please use the buttons above, or send /cancel to stop.",
    },
    # refusals (also raised by the service)
    "followup.not_yours": {
        "zh": "该后续处理记录不属于您所在单位，未做任何更改。",
        "en": "This follow-up record is not your department's; nothing changed.",
    },
    "followup.already_closed": {
        "zh": "该后续处理记录已于 {closed_on} 办结，不能再修改。",
        "en": "This follow-up record was closed on {closed_on}; it can no longer be changed.",
    },
    "followup.changed": {
        "zh": "该记录刚被他人修改，本次未保存。请重新发送 /followup 查看最新内容。",
        "en": "Someone else has just changed this record, so this was not saved. Send /followup to see it now.",
    },
    "followup.bad_measure": {"zh": "未知的处理措施“{measure}”。", "en": "Unknown measure “{measure}”."},
    "followup.note_too_long": {
        "zh": "备注过长（上限 {max} 字），请精简后重新输入。",
        "en": "The note is too long (at most {max} characters); please shorten it.",
    },
    "followup.close_needs_measure": {
        "zh": "办结前请至少勾选一项处理措施。",
        "en": "Tick at least one measure before closing.",
    },
    # written into the record itself (always in Chinese: it goes into the reports)
    "followup.corrected_note": {
        "zh": "检查结果经更正（申请编号 {correction_id}）由 {old} 改为 {new}，本后续处理记录保留。",
        "en": "The result was corrected (request {correction_id}) from {old} to {new}; this follow-up is kept.",
    },
}
