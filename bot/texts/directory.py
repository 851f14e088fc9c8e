"""Texts of directory import and the directory views (SPEC §3)."""

TEXTS: dict[str, dict[str, str]] = {
    # --- sheet names (for counts)
    "import.sheet.departments": {"zh": "单位", "en": "Departments"},
    "import.sheet.items": {"zh": "抽查事项", "en": "Inspection items"},
    "import.sheet.people": {"zh": "人员名录", "en": "People"},
    "import.sheet.targets": {"zh": "检查对象", "en": "Targets"},
    "import.sheet.conflicts": {"zh": "回避关系", "en": "Conflicts of interest"},

    # --- file-level errors: nothing is written
    "import.fatal.too_big": {
        "zh": "文件过大（{size}），上限为 {limit}。请拆分成几个文件分别导入。",
        "en": "The file is too large ({size}); the limit is {limit}. Split it into several files.",
    },
    "import.fatal.empty": {"zh": "文件是空的。", "en": "The file is empty."},
    "import.fatal.encrypted": {
        "zh": "文件受密码保护（已加密），无法读取。请在 Excel 或 WPS 中取消密码后另存为 .xlsx 再发送。",
        "en": "The file is password-protected (encrypted) and cannot be read. Remove the password in Excel or "
              "WPS, save it as .xlsx and send it again.",
    },
    "import.fatal.xls": {
        "zh": "这是旧版 Excel（.xls）文件。请在 Excel 或 WPS 中另存为 .xlsx 后再发送。",
        "en": "This is an old Excel (.xls) file. Save it as .xlsx in Excel or WPS and send it again.",
    },
    "import.fatal.text": {
        "zh": "这是文本文件（如 CSV），不是 .xlsx 工作簿。请用 Excel 或 WPS 打开后另存为 .xlsx 再发送。",
        "en": "This is a text file (such as CSV), not an .xlsx workbook. Open it in Excel or WPS, save it as "
              ".xlsx and send it again.",
    },
    "import.fatal.not_xlsx": {
        "zh": "这不是 Excel 工作簿（.xlsx），无法读取。请发送 .xlsx 文件。",
        "en": "This is not an Excel workbook (.xlsx) and cannot be read. Please send an .xlsx file.",
    },
    "import.fatal.corrupt": {
        "zh": "文件已损坏或不完整，无法打开。请在 Excel 或 WPS 中重新保存后再发送。",
        "en": "The file is damaged or incomplete and cannot be opened. Save it again in Excel or WPS and resend it.",
    },
    "import.fatal.unpacked_too_big": {
        "zh": "文件解压后过大（{size}），无法处理。",
        "en": "The file is too large once unpacked ({size}) and cannot be processed.",
    },
    "import.fatal.no_sheet": {
        "zh": "没有可识别的工作表：表头应与模板一致（{sheets}）。发送 /template 可获取模板。\n"
              "看到的表头：{seen}\n需要的列（带必填列）：{needed}",
        "en": "No sheet was recognised: the header row must match the templates ({sheets}). "
              "Send /template to get them.\nHeaders seen: {seen}\nColumns needed (required ones): {needed}",
    },
    "import.fatal.missing_column": {
        "zh": "工作表「{sheet}」（{kind}）缺少必填列：{columns}。未写入任何数据。\n看到的表头：{seen}",
        "en": "Sheet “{sheet}” ({kind}) lacks the required column(s): {columns}. Nothing was written.\n"
              "Headers seen: {seen}",
    },
    "import.fatal.industry_needed": {
        "zh": "工作表「{sheet}」（检查对象）没有“行业类别”列：请为整个文件指定行业。未写入任何数据。",
        "en": "Sheet “{sheet}” (targets) has no 行业类别 (industry) column: name the industry for the whole file. "
              "Nothing was written.",
    },
    "import.fatal.industry_too_long": {
        "zh": "指定的行业超过 {max} 个字符。未写入任何数据。",
        "en": "The industry given is longer than {max} characters. Nothing was written.",
    },

    # --- row errors (the reason part of 工作表 行 列：原因)
    "import.err.required": {"zh": "必填，不能为空", "en": "required, must not be empty"},
    "import.err.too_long": {"zh": "超过 {max} 个字符", "en": "longer than {max} characters"},
    "import.err.uscc_check": {
        "zh": "「{value}」的校验位不正确（GB 32100-2015），请核对统一社会信用代码",
        "en": "“{value}” has a wrong check character (GB 32100-2015); check the credit code",
    },
    "import.err.uscc_format": {
        "zh": "「{value}」格式不正确：应为 18 位统一社会信用代码或 15 位数字注册号",
        "en": "“{value}” is malformed: expected an 18-character unified social credit code or a 15-digit "
              "registration number",
    },
    "import.err.date": {
        "zh": "「{value}」不是有效日期，应为 YYYY-MM-DD（如 2026-12-31）",
        "en": "“{value}” is not a valid date; use YYYY-MM-DD (e.g. 2026-12-31)",
    },
    "import.err.duplicate": {
        "zh": "与「{first_sheet}」第 {first_row} 行重复",
        "en": "duplicates row {first_row} of “{first_sheet}”",
    },
    "import.err.unknown_department": {
        "zh": "单位「{value}」既不在「单位」表中，也不在系统中",
        "en": "department “{value}” is neither in the departments sheet nor in the system",
    },
    "import.err.role": {
        "zh": "角色「{value}」无效，可选：{choices}（多个用逗号或顿号分隔）",
        "en": "invalid role “{value}”; choose from {choices} (separate several with commas)",
    },
    "import.err.cert_required": {
        "zh": "检查人员必须填写执法证号",
        "en": "an inspector needs an enforcement certificate number",
    },
    "import.err.expiry_required": {
        "zh": "检查人员必须填写执法证有效期",
        "en": "an inspector needs the certificate's expiry date",
    },
    "import.err.person_status": {
        "zh": "状态「{value}」无效，应为 在岗 或 停用",
        "en": "invalid status “{value}”; use 在岗 (active) or 停用 (inactive)",
    },
    "import.err.target_status": {
        "zh": "状态「{value}」无效，应为以下之一：{choices}",
        "en": "invalid status “{value}”; use one of: {choices}",
    },
    "import.err.credit_class": {
        "zh": "信用风险分类「{value}」无效，应为 {accepted} 之一或留空",
        "en": "invalid credit-risk class “{value}”; use one of {accepted} or leave it blank",
    },
    "import.err.unknown_cert": {
        "zh": "执法证号「{value}」既不在本文件的人员名录中，也不在系统中",
        "en": "certificate “{value}” is neither in this file's roster nor in the system",
    },
    "import.err.unknown_uscc": {
        "zh": "统一社会信用代码「{value}」既不在本文件的检查对象中，也不在系统中",
        "en": "credit code “{value}” is neither in this file's targets nor in the system",
    },

    # --- warnings (imported anyway)
    "import.warn.cert_expired": {
        "zh": "执法证已于 {date} 过期：已导入，但不会被抽取",
        "en": "the certificate expired on {date}: imported, but the person will not be drawn",
    },
    "import.warn.ignored_sheet": {
        "zh": "表头不是任何一种名录，已忽略（看到的表头：{headers}）",
        "en": "the header matches no directory sheet; ignored (headers seen: {headers})",
    },

    # --- summary
    "import.summary.done": {"zh": "导入完成：", "en": "Import complete:"},
    "import.summary.counts": {
        "zh": "{sheet}：新增 {added}，更新 {updated}，未变 {unchanged}",
        "en": "{sheet}: {added} added, {updated} updated, {unchanged} unchanged",
    },
    "import.summary.empty": {
        "zh": "工作簿中没有数据行，未做任何更改。请在模板中填好数据后再发送。",
        "en": "The workbook has no data rows; nothing was changed. Fill in the template and send it again.",
    },
    "import.summary.warnings": {"zh": "提示 {count} 条：", "en": "{count} warning(s):"},
    "import.summary.more_warnings": {"zh": "……另有 {count} 条提示。", "en": "… and {count} more warning(s)."},
    "import.summary.failed": {
        "zh": "发现 {count} 处错误，未写入任何数据。已将标注错误的工作簿发回。",
        "en": "Found {count} error(s); nothing was written. The workbook with the errors marked is sent back.",
    },
    "import.summary.issue": {
        "zh": "{sheet} 第 {row} 行 {column}：{reason}",
        "en": "{sheet} row {row} {column}: {reason}",
    },
    "import.summary.sheet_issue": {"zh": "{sheet}：{reason}", "en": "{sheet}: {reason}"},
    "import.summary.more_errors": {
        "zh": "……另有 {count} 处错误，见标注的工作簿。",
        "en": "… and {count} more error(s), see the marked workbook.",
    },
    "import.error_column": {"zh": "错误说明", "en": "Errors"},
    "import.annotated_suffix": {"zh": "错误标注", "en": "errors"},

    # --- templates: comments on the header cells, drop-down messages
    "template.note.required": {"zh": "必填。", "en": "Required."},
    "template.note.department_name": {
        "zh": "单位全称，如：西华县文化广电和旅游局。",
        "en": "Full name, e.g. 西华县文化广电和旅游局.",
    },
    "template.note.short_name": {
        "zh": "简称，如：西文旅。用于抽查任务编号（西文旅抽查〔2022〕1号），也可在其他表中代替全称。",
        "en": "Short name, e.g. 西文旅. Used in campaign numbers and accepted instead of the full name in the "
              "other sheets.",
    },
    "template.note.item_department": {
        "zh": "单位全称或简称，须在「单位」表或系统中。",
        "en": "Department's full or short name; it must be in the departments sheet or in the system.",
    },
    "template.note.item_name": {
        "zh": "同一单位内不能重复。",
        "en": "Unique within the department.",
    },
    "template.note.person_department": {
        "zh": "单位全称或简称，须在「单位」表或系统中。",
        "en": "Department's full or short name; it must be in the departments sheet or in the system.",
    },
    "template.note.roles": {
        "zh": "可填多个，用逗号或顿号分隔：检查人员、分管领导、领导小组、联络员、管理员。",
        "en": "One or more, separated by commas: 检查人员 (inspector), 分管领导 (department head), "
              "领导小组 (leader), 联络员 (coordinator), 管理员 (admin).",
    },
    "template.note.cert_no": {
        "zh": "检查人员必填。执法证号是人员的唯一标识；没有执法证号时以 单位+姓名+手机号 识别。",
        "en": "Required for inspectors. The certificate number identifies the person; without one, "
              "department + name + phone does.",
    },
    "template.note.cert_expiry": {
        "zh": "检查人员必填。日期，如 2026-12-31。已过期的证件可以导入，但不会被抽取。",
        "en": "Required for inspectors. A date such as 2026-12-31. An expired certificate is imported but "
              "never drawn.",
    },
    "template.note.person_status": {
        "zh": "在岗 或 停用；留空为在岗。停用人员不会被抽取。",
        "en": "在岗 (active) or 停用 (inactive); blank means active. Inactive people are never drawn.",
    },
    "template.note.uscc": {
        "zh": "18 位统一社会信用代码（校验位会被核对），或 15 位旧注册号。",
        "en": "The 18-character unified social credit code (its check character is verified), or an old "
              "15-digit registration number.",
    },
    "template.note.industry": {
        "zh": "如：互联网上网服务营业场所。抽查任务按行业类别确定抽查范围。",
        "en": "E.g. 互联网上网服务营业场所. Campaigns select their scope by this value.",
    },
    "template.note.credit_class": {
        "zh": "A、B、C、D，或 信用风险低/一般/较高/高、低/中/中高/高风险，或留空（未分类）。可按分类设定抽查比例。",
        "en": "A, B, C, D, or 信用风险低/一般/较高/高, 低/中/中高/高风险, or blank (unclassified). Sampling ratios "
              "can be set per class.",
    },
    "template.note.target_status": {
        "zh": "正常、停业 或 注销；留空为正常。只有正常的对象会被抽取。",
        "en": "正常 (operating), 停业 (suspended) or 注销 (deregistered); blank means operating. Only "
              "operating targets are drawn.",
    },
    "template.note.conflict_cert": {
        "zh": "须在人员名录（本文件或系统）中。",
        "en": "Must be in the roster (this file or the system).",
    },
    "template.note.conflict_uscc": {
        "zh": "须在检查对象名录（本文件或系统）中。",
        "en": "Must be in the targets (this file or the system).",
    },
    "template.note.reason": {"zh": "回避原因，如：亲属关系。", "en": "The reason, e.g. a family relation."},
    "template.dv.title": {"zh": "请从列表中选择", "en": "Choose from the list"},
    "template.dv.error": {
        "zh": "只能填写：{choices}",
        "en": "Allowed values: {choices}",
    },
}
