"""Texts of identity, roles, help, directory views and general errors (SPEC §2, §3)."""

TEXTS: dict[str, dict[str, str]] = {
    # ---- general
    "error.internal": {
        "zh": "处理时出错，已记录。请稍后再试；如反复出现，请联系管理员。",
        "en": "Something went wrong and was logged. Please try again later; tell an admin if it keeps happening.",
    },
    # To the admins, through the outbox (bot.services.error_reports); the token is already taken out.
    "error.admin_report": {
        "zh": "⚠️ 机器人出现未预期的错误（同一错误每小时只报告一次，详情见日志）\n"
              "类型：{kind}\n信息：{message}\n位置：{where}\n处理中：{origin}\n错误编号：{fingerprint}",
        "en": "⚠️ The bot hit an unexpected error (the same error is reported once an hour; details in the log)\n"
              "Type: {kind}\nMessage: {message}\nWhere: {where}\nHandling: {origin}\nError id: {fingerprint}",
    },
    "error.private_only": {
        "zh": "请在与机器人的私聊中使用此命令。",
        "en": "Please use this command in a private chat with the bot.",
    },
    "error.group_only": {
        "zh": "此命令只能在已绑定的工作群中使用。",
        "en": "This command works only in the bound group chat.",
    },
    "error.wrong_group": {
        "zh": "此群不是已绑定的工作群，命令未执行。",
        "en": "This chat is not the bound group; the command was not run.",
    },
    "error.not_allowed": {
        "zh": "您没有执行此操作的权限（需要：{roles}）。",
        "en": "You are not allowed to do this (requires: {roles}).",
    },
    "error.stale_button": {
        "zh": "此按钮已失效或不属于您，未做任何更改。",
        "en": "This button is no longer valid or not yours; nothing was changed.",
    },
    "unknown_user": {
        "zh": "您好！您还没有绑定身份。请向管理员索取一次性邀请码，然后在此发送：/start 邀请码",
        "en": "Hello! Your account is not bound yet. Ask an admin for a one-time invite code, then send: "
              "/start CODE",
    },
    "unknown_text": {
        "zh": "没有理解这条消息。发送 /help 查看可用命令。",
        "en": "I did not understand that. Send /help for the commands.",
    },
    # ---- roles
    "role.admin": {"zh": "管理员", "en": "admin"},
    "role.leader": {"zh": "领导小组成员", "en": "leader"},
    "role.dept_head": {"zh": "分管领导", "en": "department head"},
    "role.coordinator": {"zh": "联络员", "en": "coordinator"},
    "role.inspector": {"zh": "执法检查人员", "en": "inspector"},
    "role.none": {"zh": "无", "en": "none"},
    # ---- /start
    "start.welcome": {
        "zh": "{name}，您好！身份已确认：{department}，角色：{roles}。发送 /help 查看可用命令。",
        "en": "Hello {name}! You are {department}, roles: {roles}. Send /help for the commands.",
    },
    "start.bound": {
        "zh": "绑定成功！{name}（{department}），角色：{roles}。发送 /help 查看可用命令。",
        "en": "Bound! {name} ({department}), roles: {roles}. Send /help for the commands.",
    },
    "start.code_unknown": {
        "zh": "邀请码无效。请核对后重试，或向管理员索取新的邀请码。",
        "en": "This invite code is not valid. Check it, or ask an admin for a new one.",
    },
    "start.code_used": {
        "zh": "此邀请码已被使用过，每个邀请码只能使用一次。请向管理员索取新的邀请码。",
        "en": "This invite code has already been used; each code works once. Ask an admin for a new one.",
    },
    "start.code_expired": {
        "zh": "此邀请码已过期。请向管理员索取新的邀请码。",
        "en": "This invite code has expired. Ask an admin for a new one.",
    },
    "start.code_inactive": {
        "zh": "名录中此人员状态为停用，无法绑定。请联系管理员。",
        "en": "This roster entry is inactive and cannot be bound. Contact an admin.",
    },
    "start.other_account": {
        "zh": "您的 Telegram 账号已绑定为 {name}，不能再绑定其他人员。如有错误请联系管理员。",
        "en": "Your Telegram account is already bound to {name}; it cannot be bound to someone else. "
              "Contact an admin if this is wrong.",
    },
    "start.in_group": {
        "zh": "请在与机器人的私聊中发送 /start 邀请码 完成绑定，不要在群里发送邀请码。",
        "en": "Send /start CODE in a private chat with the bot, not in the group.",
    },
    # ---- /invite
    "invite.usage": {
        "zh": "用法：/invite 执法证号 或 姓名（或手机号）",
        "en": "Usage: /invite <certificate no. or name (or phone)>",
    },
    "invite.not_found": {
        "zh": "名录中没有找到“{query}”。请先导入人员名录，或核对执法证号/姓名。",
        "en": "Nobody matches “{query}” in the roster. Import the roster first, or check the name/number.",
    },
    "invite.ambiguous": {
        "zh": "有 {count} 人匹配“{query}”，请改用执法证号或手机号：\n{lines}",
        "en": "{count} people match “{query}”; use the certificate number or phone instead:\n{lines}",
    },
    "invite.issued": {
        "zh": "已为 {name}（{department}）生成一次性邀请码，{expires} 前有效：\n\n{link}\n\n或在私聊中发送：\n/start {code}",
        "en": "One-time invite code for {name} ({department}), valid until {expires}:\n\n{link}\n\n"
              "or send in a private chat:\n/start {code}",
    },
    "invite.issued_no_link": {
        "zh": "已为 {name}（{department}）生成一次性邀请码，{expires} 前有效。\n\n"
              "请本人在钉钉中找到本机器人，在单聊中发送：\n/start {code}",
        "en": "One-time invite code for {name} ({department}), valid until {expires}.\n\n"
              "The person sends this to the bot in a private DingTalk chat:\n/start {code}",
    },
    # ---- /bindgroup
    "bindgroup.done": {
        "zh": "已将本群“{title}”绑定为工作群。抽取公告和群内命令将只在本群进行。",
        "en": "This chat “{title}” is now the bound group. Draw announcements and group commands happen here only.",
    },
    "bindgroup.moved": {
        "zh": "已将本群“{title}”绑定为工作群（原绑定的群 {previous} 不再接受群内命令）。",
        "en": "This chat “{title}” is now the bound group (the previous chat {previous} no longer is).",
    },
    "bindgroup.not_group": {
        "zh": "请在要绑定的群聊中发送 /bindgroup。",
        "en": "Send /bindgroup in the group chat you want to bind.",
    },
    # ---- /me
    "me.card": {
        "zh": "姓名：{name}\n单位：{department}\n角色：{roles}\n执法证号：{cert}\n执法证有效期至：{expiry}\n状态：{status}\n语言：{language}",
        "en": "Name: {name}\nDepartment: {department}\nRoles: {roles}\nCertificate: {cert}\nValid until: {expiry}\n"
              "Status: {status}\nLanguage: {language}",
    },
    "me.config_admin": {
        "zh": "您是配置文件中指定的管理员（Telegram ID {tg_id}），尚未绑定名录人员。",
        "en": "You are an admin from the config file (Telegram id {tg_id}), not bound to a roster entry.",
    },
    "me.active": {"zh": "在岗", "en": "active"},
    "me.inactive": {"zh": "停用", "en": "inactive"},
    "me.none": {"zh": "—", "en": "—"},
    "me.expired": {"zh": "{date}（已过期）", "en": "{date} (expired)"},
    # ---- /lang
    "lang.usage": {
        "zh": "请选择界面语言：",
        "en": "Choose the interface language:",
    },
    "lang.set": {"zh": "界面语言已设为中文。", "en": "Interface language set to English."},
    # ---- /help
    "help.header": {"zh": "可用命令：", "en": "Commands:"},
    "help.entry_shortcuts": {
        "zh": "录入捷径（/enter）：\n· 检查对象全部正常：点“全部「{code}」”，核对后点“提交”，两步完成；\n"
              "· 只有个别事项有问题：点“标记问题事项”，只选有问题的事项（选结果、写描述），再点“其余全部「{code}」”；\n"
              "· 备注：选完结果后直接输入文字，即记为刚选那一项的备注（或点“备注第 n 项”）；\n"
              "· 批量填写的事项在核对页标〔批量〕，提交前可点“修改”更改任一项。",
        "en": "Entry shortcuts (/enter):\n· Everything fine: press “All “{code}”” then “submit” — two presses;\n"
              "· Only a few items with problems: press “Mark the items with problems”, answer only those (result and "
              "description), then “All others “{code}””;\n· Notes: after choosing a result just type the note — it goes "
              "to the item you just answered (or press “Note on item n”);\n· Items filled in bulk are marked [bulk] "
              "in the summary; press “change” before submitting to change any.",
    },
    "help.unbound": {
        "zh": "您还没有绑定身份。向管理员索取邀请码后发送：/start 邀请码",
        "en": "You are not bound yet. Ask an admin for an invite code, then send: /start CODE",
    },
    "cmd.start": {"zh": "开始 / 用邀请码绑定身份", "en": "start / bind with an invite code"},
    "cmd.help": {"zh": "查看帮助", "en": "show help"},
    "cmd.me": {"zh": "我的身份与角色", "en": "my identity and roles"},
    "cmd.lang": {"zh": "切换语言 中文/English", "en": "switch language 中文/English"},
    "cmd.targets": {"zh": "查询检查对象", "en": "search inspection targets"},
    "cmd.items": {"zh": "抽查事项清单", "en": "inspection items"},
    "cmd.people": {"zh": "人员名录", "en": "staff roster"},
    "cmd.invite": {"zh": "生成邀请码（管理员）", "en": "issue an invite code (admin)"},
    "cmd.template": {"zh": "下载名录导入模板（管理员）", "en": "download import templates (admin)"},
    "cmd.campaigns": {"zh": "抽查任务列表", "en": "list campaigns"},
    "cmd.new": {"zh": "新建抽查任务（领导小组）", "en": "create a campaign (leaders)"},
    "cmd.enter": {"zh": "录入检查结果", "en": "enter inspection results"},
    "cmd.tasks": {"zh": "我的检查任务和截止日期", "en": "my assignments and deadlines"},
    "cmd.progress": {"zh": "录入进度", "en": "entry progress"},
    "cmd.correct": {"zh": "申请更正已提交的结果", "en": "request a correction"},
    "cmd.followup": {"zh": "登记后续处理", "en": "record follow-up measures"},
    "cmd.cancel": {"zh": "退出当前操作", "en": "leave the current step"},
    "cmd.swap": {"zh": "申请更换（不能参加检查时）", "en": "ask to be replaced"},
    "cmd.recuse": {"zh": "申请回避（与检查对象有利害关系）", "en": "ask to recuse from a target"},
    "cmd.leader": {"zh": "指定检查组组长（领导小组）", "en": "name a group leader (leaders)"},
    "cmd.draw": {"zh": "随机抽取检查对象和检查人员（领导小组）", "en": "run the random draw (leaders)"},
    "cmd.verify": {"zh": "核验抽取结果", "en": "verify a draw"},
    "cmd.bindgroup": {"zh": "绑定本群为工作群（管理员）", "en": "bind this group (admin)"},
    "help.import": {
        "zh": "管理员可直接发送 .xlsx 名录工作簿导入（人员名录、检查对象、抽查事项、单位、回避关系）。",
        "en": "Admins can send an .xlsx workbook to import the directories (people, targets, items, "
              "departments, conflicts).",
    },
    # ---- directory views
    "dir.targets_usage": {
        "zh": "用法：/targets 关键词（名称、统一社会信用代码、地址或行业类别的一部分）",
        "en": "Usage: /targets <part of a name, credit code, address or industry>",
    },
    "dir.no_results": {"zh": "没有找到匹配的记录。", "en": "Nothing matches."},
    "dir.page": {"zh": "第 {page}/{pages} 页，共 {total} 条", "en": "page {page}/{pages}, {total} in all"},
    "page.of": {"zh": "第 {page}/{pages} 页", "en": "page {page}/{pages}"},
    "page.prev": {"zh": "‹ 上一页", "en": "‹ previous"},
    "page.next": {"zh": "下一页 ›", "en": "next ›"},
    "dir.targets_title": {"zh": "检查对象“{query}”：", "en": "Targets matching “{query}”:"},
    "dir.target_line": {
        "zh": "{n}. {name}\n   {uscc}{regno} · {industry} · 信用分类 {credit} · {status}\n   {address}",
        "en": "{n}. {name}\n   {uscc}{regno} · {industry} · class {credit} · {status}\n   {address}",
    },
    "dir.regno": {"zh": "（注册号）", "en": " (reg. no.)"},
    "dir.unclassified": {"zh": "未分类", "en": "none"},
    "dir.people_title": {"zh": "人员名录{query}：", "en": "Roster{query}:"},
    "dir.person_line": {
        "zh": "{n}. {name} · {department} · {roles}{cert}{bound}",
        "en": "{n}. {name} · {department} · {roles}{cert}{bound}",
    },
    "dir.person_cert": {"zh": " · 证号 {cert} 至 {expiry}", "en": " · cert {cert} until {expiry}"},
    "dir.person_bound": {"zh": " · 已绑定", "en": " · bound"},
    "dir.person_inactive": {"zh": " · 停用", "en": " · inactive"},
    "dir.items_title": {"zh": "抽查事项清单{query}：", "en": "Inspection items{query}:"},
    "dir.item_line": {"zh": "{n}. 【{department}】{name}", "en": "{n}. [{department}] {name}"},
    # ---- uploads (the import itself speaks through import.* in texts/directory.py)
    "upload.not_xlsx": {
        "zh": "文件“{filename}”不是 .xlsx 工作簿，未导入。请发送 Excel 2007 及以上格式（.xlsx）的名录文件。",
        "en": "“{filename}” is not an .xlsx workbook; nothing was imported. Send an Excel (.xlsx) file.",
    },
    "upload.too_big": {
        "zh": "文件过大（{size_mb} MB），上限为 {limit_mb} MB，未导入。请拆分后分别发送。",
        "en": "The file is too large ({size_mb} MB; the limit is {limit_mb} MB); nothing was imported. "
              "Split it and send the parts.",
    },
    "upload.industry_resend": {
        "zh": "请重新发送该文件，并在文件说明（caption）中写上：\n{caption}",
        "en": "Send the file again with this caption:\n{caption}",
    },
    "upload.industry_known": {"zh": "系统中已有的行业（可复制其中一行作为说明）：",
                              "en": "Industries already in the directory (copy one line as the caption):"},
    "upload.industry_example": {"zh": "行业名称", "en": "industry name"},
    "upload.working": {"zh": "正在导入“{filename}”，请稍候……", "en": "Importing “{filename}”, please wait…"},
    "upload.annotated_caption": {
        "zh": "已在每个有错误的工作表末尾加入“错误说明”列，请修改后重新发送。",
        "en": "Each sheet with errors has an added “错误说明” (errors) column; fix them and send the file again.",
    },
    # A document caption: Telegram allows 1,024 characters (tests/unit/test_templates.py checks).
    "upload.template_caption": {
        "zh": "名录导入有两种方式，文件直接发给我即可：\n"
              "1. 用本模板：人员名录、检查对象、抽查事项、单位、回避关系，带 * 的列为必填。\n"
              "2. 检查对象名单可按平台导出的原样发送，不必改成本模板：只有 企业名称、统一社会信用代码/注册号、"
              "登记机关、管辖单位 等列也可以。没有“行业类别”列时，在文件说明里写 行业=互联网上网服务营业场所"
              "（命令行：python -m bot import 文件 --industry 互联网上网服务营业场所）。\n"
              "没有地址可以，记录表上显示“未登记”，现场填写。信用分类写 A–D、信用风险低/一般/较高/高（A–D类）"
              "或 低/中/中高/高风险 均可。登记状态：存续（在营、开业、在册）、在营、开业、在册 可抽取；"
              "停业、歇业 保留但不抽取；吊销、撤销、注销、迁出 不抽取。",
        "en": "Two ways to import; just send me the file:\n"
              "1. This template: people, targets, items, departments, conflicts; columns marked * are required.\n"
              "2. A target list as the platform exported it, unchanged: 企业名称, 统一社会信用代码/注册号, 登记机关 and "
              "管辖单位 alone are enough. Without an 行业类别 column, write 行业=互联网上网服务营业场所 in the "
              "file's caption (command line: python -m bot import FILE --industry 互联网上网服务营业场所).\n"
              "A missing address is fine: the record form shows 未登记, to be filled in on site. Credit classes "
              "A–D, 信用风险低/一般/较高/高（A–D类） and 低/中/中高/高风险 are all accepted. Registration states "
              "存续（在营、开业、在册）, 在营, 开业, 在册 can be drawn; 停业, 歇业 are kept but not drawn; 吊销, 撤销, "
              "注销, 迁出 never.",
    },
}
