"""`抽取结果` workbook: groups, targets, inspectors, seed, digests, pools (SPEC §8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

from openpyxl import Workbook

from reports.styles import BOLD, CellStyle, cjk_workbook, column_width, safe_text


@dataclass
class DrawSheetData:
    number: str
    title: str
    draw_id: int
    created: str  # YYYY-MM-DD HH:MM
    seed: str
    seed_source: str
    public_text: str | None
    digests: dict
    pool_sizes: dict  # "targets" -> int, department -> int, "conflicts" -> int
    groups: list[dict] = field(default_factory=list)
    # each group: {"number", "leader", "inspectors": [(name, department, cert_no, phone)],
    #              "targets": [(name, uscc, address, credit_class)]}
    pools: dict | None = None  # the frozen pools, written in full when given


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    """A write-only sheet (a 10,000-target draw has tens of thousands of rows): bold header, widths from the
    header and the first 500 rows, header frozen."""
    ws = wb.create_sheet(title)
    for i, name in enumerate(header):
        letter = chr(ord("A") + i)
        ws.column_dimensions[letter].width = column_width([name] + [r[i] for r in rows[:500]])
    ws.freeze_panes = "A2"
    bold = CellStyle(ws, font=BOLD)
    ws.append([bold(name) for name in header])
    for row in rows:
        ws.append([safe_text(v) for v in row])


def build_draw_result_workbook(data: DrawSheetData) -> bytes:
    wb = cjk_workbook(write_only=True)
    info = [["抽查任务编号", data.number], ["抽查任务名称", data.title], ["抽取编号", data.draw_id],
            ["抽取时间", data.created], ["算法", "v1"], ["随机种子", data.seed],
            ["种子来源", "公开值" if data.seed_source == "public" else "系统随机数（secrets）"]]
    if data.public_text:
        info.append(["公开值", data.public_text])
    info.append(["检查对象名录摘要", data.digests.get("targets", "")])
    for dep, digest in (data.digests.get("inspectors") or {}).items():
        info.append([f"检查人员名录摘要（{dep}）", digest])
    info.append(["回避关系摘要", data.digests.get("conflicts", "")])
    for key, size in data.pool_sizes.items():
        info.append([f"名录数量（{key}）", size])
    _sheet(wb, "抽取信息", ["项目", "内容"], info)
    _sheet(wb, "检查组", ["组号", "组长", "姓名", "单位", "执法证号", "手机号"],
           [[g["number"], "是" if p[2] == g.get("leader_cert") else "", *p] for g in data.groups
            for p in g["inspectors"]])
    _sheet(wb, "检查对象", ["组号", "序号", "名称", "统一社会信用代码", "地址", "信用风险分类"],
           [[g["number"], i + 1, *t] for g in data.groups for i, t in enumerate(g["targets"])])
    if data.pools:
        rows = [[s, u] for s, lst in sorted(data.pools.get("targets", {}).items()) for u in lst]
        _sheet(wb, "对象名录", ["分层", "统一社会信用代码"], rows)
        rows = [[d, c] for d, lst in data.pools.get("inspectors", {}).items() for c in lst]
        _sheet(wb, "人员名录", ["单位", "执法证号"], rows)
        _sheet(wb, "回避关系", ["执法证号", "统一社会信用代码"], [list(p) for p in data.pools.get("conflicts", [])])
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()
