"""Texts of the draw: announcement, notices, summons letter, verification, refusals (SPEC §5)."""

TEXTS: dict[str, dict[str, str]] = {
    "draw.usage": {
        "zh": "用法：/draw [任务编号] [public=公开值] [reason=重新抽取的理由]",
        "en": "Usage: /draw [campaign] [public=<public value>] [reason=<why this is a re-draw>]",
    },
    "draw.working": {"zh": "正在抽取，请稍候……", "en": "Drawing, please wait…"},
    "draw.failed": {"zh": "抽取失败，未保存任何结果：{reason}", "en": "The draw failed and nothing was saved: {reason}"},
    "draw.too_few": {
        "zh": "第 {group} 组“{department}”可抽取的检查人员只有 {eligible} 名，需要 {needed} 名（已排除本次已抽中和有回避关系的人员）。",
        "en": "Group {group}, {department}: only {eligible} eligible inspectors, {needed} needed (after excluding "
              "those already drawn and those with a conflict).",
    },
    "draw.no_targets": {
        "zh": "抽查范围内没有可抽取的检查对象（行业类别、状态“正常”、年度抽查次数上限）。",
        "en": "No target in scope can be drawn (industry, status 正常, annual inspection limit).",
    },
    "draw.no_rule": {"zh": "信用分类 {classes} 没有抽取比例或数量（不免抽）。请修改任务的抽取规则。",
                     "en": "Credit classes {classes} have no ratio or count (none is exempt); fix the campaign's rule."},
    "draw.invalid": {"zh": "抽取参数有误：{detail}", "en": "The draw's parameters are invalid: {detail}"},
    "draw.refused_state": {"zh": "该任务已公示或办结，不能再抽取。", "en": "This campaign is published or closed; no more draws."},
    "draw.redraw_needs_reason": {
        "zh": "该任务已有抽取结果（抽取编号 {draw_id}）。如需重新抽取，请说明理由：/draw 任务编号 reason=理由。原结果不会删除，将标记为已被取代。",
        "en": "This campaign was already drawn (draw {draw_id}). To draw again, give a reason: "
              "/draw <campaign> reason=<why>. The old draw is kept and marked superseded.",
    },
    "draw.choose_campaign": {
        "zh": "请指明任务编号：\n{lines}",
        "en": "Please name the campaign:\n{lines}",
    },
    "draw.no_campaign": {"zh": "没有找到该抽查任务。发送 /campaigns 查看任务编号。",
                         "en": "No such campaign. Send /campaigns for the ids."},
    "draw.done": {"zh": "抽取完成（抽取编号 {draw_id}），公告正在发送。", "en": "Drawn (draw {draw_id}); the announcement is on its way."},
    # announcement
    "draw.ann.head": {
        "zh": "【随机抽取结果】{number}\n{title}\n抽取编号：{draw_id}　时间：{when}　发起：{who}{redraw}",
        "en": "[Draw result] {number}\n{title}\nDraw {draw_id} · {when} · by {who}{redraw}",
    },
    "draw.ann.redraw": {"zh": "\n本次为重新抽取，取代抽取编号 {old}，理由：{reason}",
                        "en": "\nThis re-draw supersedes draw {old}; reason: {reason}"},
    "draw.ann.totals": {"zh": "共抽取检查对象 {targets} 户，组成 {groups} 个检查组。",
                        "en": "{targets} targets drawn into {groups} group(s)."},
    "draw.ann.group": {"zh": "\n第 {n} 组　组长：{leader}", "en": "\nGroup {n} · leader: {leader}"},
    "draw.ann.members": {"zh": "检查人员：{members}", "en": "Inspectors: {members}"},
    "draw.ann.targets": {"zh": "检查对象：", "en": "Targets:"},
    "draw.ann.target": {"zh": "  {i}. {name}（{uscc}）", "en": "  {i}. {name} ({uscc})"},
    # …with its 管辖单位 (or else 登记机关) when the directory has one: who the target belongs to
    "draw.ann.target_unit": {"zh": "  {i}. {name}（{uscc}）· {unit}", "en": "  {i}. {name} ({uscc}) · {unit}"},
    "draw.ann.seed": {"zh": "\n随机种子：{seed}", "en": "\nSeed: {seed}"},
    "draw.ann.public": {"zh": "（由公开值“{text}”经 SHA-256 得出）", "en": " (SHA-256 of the public value “{text}”)"},
    "draw.ann.digests": {"zh": "名录摘要（SHA-256）：", "en": "Pool digests (SHA-256):"},
    "draw.ann.digest_targets": {"zh": "  检查对象 {size} 户：{digest}", "en": "  targets ({size}): {digest}"},
    "draw.ann.digest_dept": {"zh": "  {department} 检查人员 {size} 名：{digest}",
                             "en": "  {department} inspectors ({size}): {digest}"},
    "draw.ann.digest_conflicts": {"zh": "  回避关系 {size} 条：{digest}", "en": "  conflicts ({size}): {digest}"},
    "draw.ann.verify": {
        "zh": "\n核验：用浏览器打开随后发送的“抽取核验”网页，即在本机重新运行本次抽取；或在群内发送 /verify {draw_id}；或导出记录（python -m bot draw export {draw_id} 文件.json）后，任何人可运行 python -m bot draw verify 文件.json 独立复核。",
        "en": "\nVerify: open the draw check page sent next in any browser; or send /verify {draw_id} here; or export the record (python -m bot draw export {draw_id} "
              "file.json) and anyone can re-run it with python -m bot draw verify file.json.",
    },
    "draw.ann.summary_note": {
        "zh": "\n完整名单较长，见附件“抽取结果”工作簿。",
        "en": "\nThe full lists are long: see the attached 抽取结果 workbook.",
    },
    "draw.ann.caption": {"zh": "{number} 抽取结果（抽取编号 {draw_id}）", "en": "{number} draw result (draw {draw_id})"},
    # private notice
    "draw.notice.no_address": {"zh": "地址未登记", "en": "address not registered"},
    "draw.notice": {
        "zh": "您已被随机抽中参加 {number}「{title}」联合抽查。\n第 {group} 组，组长：{leader}\n组员：{members}\n检查对象：\n{targets}\n检查时间：{start} 至 {end}\n结果录入截止：{results_due}{provisional}\n公示截止：{publication_due}{provisional}\n检查后请在与我的私聊中录入结果。如不能参加，请发送 /swap 申请更换；与检查对象有利害关系的，请发送 /recuse 申请回避。",
        "en": "You were drawn for {number} “{title}”.\nGroup {group}, leader: {leader}\nMembers: {members}\n"
              "Targets:\n{targets}\nInspection window: {start} to {end}\nResults due: {results_due}{provisional}\n"
              "Publication due: {publication_due}{provisional}\nEnter results in this private chat after the "
              "inspection. If you cannot serve, send /swap; if you have a conflict with a target, send /recuse.",
    },
    "draw.provisional": {"zh": "（暂定）", "en": " (provisional)"},
    "draw.letter": {
        "zh": "关于抽调贵单位人员参加跨部门联合抽查的函\n\n{department}：\n\n{date}，{lead}通过“双随机、一公开”抽查系统随机抽取了{number}「{title}」的检查人员和检查对象，系统将抽中人员和检查对象自动匹配为 {groups} 个检查组，检查人员来自 {units} 个单位。贵单位 {count} 名同志被随机抽中，负责贵单位抽查事项检查：{names}。\n\n检查日期 {start} 到 {end}。为确保抽查工作保质保量按时完成，请贵单位通知抽中人员按时参加检查，在检查期间不再参与贵单位上下班考勤。\n\n{lead}\n{date}",
        "en": "Summons of your staff for a joint random inspection\n\nTo {department}:\n\nOn {date}, {lead} drew the "
              "inspectors and targets of {number} “{title}”; they form {groups} group(s) with inspectors from "
              "{units} units. {count} of your staff were drawn to inspect your department's items: {names}.\n\n"
              "The inspection runs from {start} to {end}. Please release them for it.\n\n{lead}\n{date}",
    },
    "draw.unbound": {
        "zh": "以下抽中人员尚未绑定账号，无法收到通知，请电话联系：\n{lines}",
        "en": "These drawn people have no bound account and get no message; please phone them:\n{lines}",
    },
    "draw.page.caption": {
        "zh": "抽取核验网页（抽取编号 {draw_id}）：用手机或电脑的浏览器打开，即在本机重新运行本次抽取并逐项核对，不联网。",
        "en": "Draw check page (draw {draw_id}): open it in any browser to re-run this draw on your device and "
              "compare every item, offline.",
    },
    # verify
    "verify.ok": {"zh": "核验结果：一致。抽取编号 {draw_id} 由其记录重新运行，名录摘要与抽取结果完全相同。",
                  "en": "Verification: consistent. Draw {draw_id} re-run from its record gives identical digests and result."},
    "verify.bad": {"zh": "核验结果：不一致！抽取编号 {draw_id}：\n{lines}",
                   "en": "Verification: NOT consistent! Draw {draw_id}:\n{lines}"},
    "verify.page": {"zh": "用浏览器打开此网页，可在本机独立重新运行本次抽取（不联网）。",
                    "en": "Open this page in any browser to re-run the draw on your own device (offline)."},
    "verify.no_draw": {"zh": "没有找到抽取记录。", "en": "No such draw."},
    "verify.superseded": {"zh": "（该抽取已被抽取编号 {new} 取代，理由：{reason}）",
                          "en": " (superseded by draw {new}; reason: {reason})"},
    # ---- /leader, /swap, /recuse (§5.6, §5.10)
    "leader.usage": {"zh": "用法：/leader [任务编号] 组号 姓名或执法证号", "en": "Usage: /leader [campaign] <group> <name or certificate no.>"},
    "leader.no_group": {"zh": "没有第 {group} 组。", "en": "There is no group {group}."},
    "leader.not_member": {"zh": "第 {group} 组的在岗组员中没有唯一匹配“{query}”的人员。",
                          "en": "No single active member of group {group} matches “{query}”."},
    "leader.no_draw": {"zh": "该任务还没有抽取结果。", "en": "This campaign has not been drawn yet."},
    "leader.changed": {"zh": "【组长变更】{number} 第 {group} 组组长改为 {name}（{department}）。",
                       "en": "[Leader] {number} group {group}: the leader is now {name} ({department})."},
    "staff.swap_usage": {"zh": "用法：/swap 理由（例如：/swap 岗位调整，无法参加检查）",
                         "en": "Usage: /swap <reason> (e.g. /swap reassigned, cannot take part)"},
    "staff.recuse_usage": {"zh": "用法：/recuse 理由（例如：/recuse 与该单位负责人系亲属关系）",
                           "en": "Usage: /recuse <reason> (e.g. /recuse a relative runs this business)"},
    "staff.reason_required": {"zh": "请写明理由。", "en": "Please give a reason."},
    "staff.no_assignment": {"zh": "您目前没有被抽中的检查任务。", "en": "You have no current inspection assignment."},
    "staff.pick_assignment": {"zh": "您在多个任务中被抽中，请选择要更换的一项：", "en": "You are drawn in several campaigns; pick one:"},
    "staff.pick_target": {"zh": "请选择需要回避的检查对象：", "en": "Pick the target you must recuse from:"},
    "staff.assignment_button": {"zh": "{number} 第{group}组", "en": "{number} group {group}"},
    "staff.already_pending": {"zh": "您已有一项待审批的申请（编号 {request_id}），请等待审批结果。",
                              "en": "You already have a pending request ({request_id}); please wait for the decision."},
    "staff.filed": {"zh": "申请已提交（编号 {request_id}），等待 {approvers} 审批，结果会通知您。",
                    "en": "Request {request_id} filed; waiting for {approvers}. You will be told the decision."},
    "staff.no_approver": {
        "zh": "申请未提交：该申请须由{department}的分管领导审批（没有已绑定的分管领导时由领导小组成员审批），申请人本人不能审批，"
              "目前没有其他已绑定账号的人可以审批。请联系管理员为他们发放邀请码后再申请。",
        "en": "Not filed: this request must be decided by a head of {department} (a leader when the department has no "
              "bound head), never by the requester, and nobody else with a bound account can decide it now. Ask an "
              "admin to send them invite codes, then ask again."},
    "staff.ask": {
        "zh": "【{kind}申请】编号 {request_id}\n{name}（{department}）申请{kind}：{number} 第 {group} 组{target}\n理由：{reason}\n同意后将按规则确定性地抽取替补人员。",
        "en": "[{kind} request] {request_id}\n{name} ({department}) asks for a {kind}: {number} group {group}{target}\n"
              "Reason: {reason}\nOn approval a replacement is drawn deterministically.",
    },
    "staff.kind.swap": {"zh": "更换", "en": "substitution"},
    "staff.kind.recuse": {"zh": "回避", "en": "recusal"},
    "staff.target": {"zh": "，检查对象：{name}", "en": ", target: {name}"},
    "staff.not_your_department": {"zh": "只有该人员所在单位的分管领导或领导小组成员可以审批，申请人不能审批自己的申请。",
                                  "en": "Only the department's head or a leader can decide this, and never the requester."},
    "approval.own_request": {"zh": "您不能审批自己提出的申请，已交由其他审批人处理。未做任何更改。",
                             "en": "You cannot decide your own request; it is with the other approvers. Nothing changed."},
    "approval.approve": {"zh": "同意", "en": "Approve"},
    "approval.reject": {"zh": "驳回", "en": "Reject"},
    "staff.already_decided": {"zh": "该申请已处理（{state}），未做更改。", "en": "This request was already decided ({state}); nothing changed."},
    "staff.approved_note": {"zh": "已同意：第 {group} 组 {old} 由 {new} 替补（第 {n} 次替补）。",
                            "en": "Approved: in group {group}, {new} replaces {old} (replacement {n})."},
    "staff.rejected_note": {"zh": "已驳回编号 {request_id} 的申请。", "en": "Request {request_id} rejected."},
    "staff.failed_note": {"zh": "已同意，但没有符合条件的替补人员（已排除本次抽中过的人员和有回避关系的人员）。请领导小组另行安排。",
                          "en": "Approved, but nobody is eligible as a replacement (everyone drawn and everyone conflicted is excluded). The leaders must arrange it."},
    "staff.announce": {
        "zh": "【人员{kind}】{number} 第 {group} 组：{old}（{department}）{kind}，经{approver}同意，按规则抽取 {new} 替补（第 {n} 次替补，可用 /verify 核验）。{leader}",
        "en": "[{kind}] {number} group {group}: {old} ({department}) is replaced with {new}, approved by {approver} "
              "(replacement {n}, verifiable with /verify).{leader}",
    },
    "staff.new_leader": {"zh": "组长改为 {name}。", "en": " The leader is now {name}."},
    "staff.you_replace": {
        "zh": "您已被抽取替补参加 {number}「{title}」第 {group} 组检查（替补 {old}）。检查时间：{start} 至 {end}。",
        "en": "You were drawn as a replacement for {number} “{title}” group {group} (replacing {old}). "
              "Inspection window: {start} to {end}.",
    },
    "staff.your_request_approved": {"zh": "您的申请（编号 {request_id}）已获同意，由 {new} 替补。",
                                    "en": "Your request {request_id} was approved; {new} replaces you."},
    "staff.your_request_rejected": {"zh": "您的申请（编号 {request_id}）被驳回，请按原安排参加检查。",
                                    "en": "Your request {request_id} was rejected; please take part as drawn."},
    "staff.your_request_failed": {"zh": "您的申请（编号 {request_id}）已获同意，但暂无替补人员，领导小组将另行安排。",
                                  "en": "Your request {request_id} was approved but nobody is left to replace you; the leaders will arrange it."},
}
