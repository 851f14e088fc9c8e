"""Deterministic sample directories modelled on the seed plan (西华县, 2022 joint inspection of internet cafés):
four departments, their items, a roster and targets with valid 统一社会信用代码. Used by tests, the benchmark and
the offline demo. The same (n_targets, seed) always gives the same data (the .xlsx bytes differ only in the
file's timestamps)."""

from __future__ import annotations

import datetime as dt
import random
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from stdnum.cn.uscc import calc_check_digit

from bot.services.directory_import import SHEET_BY_KIND

REGION = "411622"  # 河南省周口市西华县

DEPARTMENTS = [  # (单位名称, 简称) — 文旅 leads, 消防 cooperates (seed 三)
    ("西华县文化广电和旅游局", "西文旅"),
    ("西华县市场监督管理局", "西市监"),
    ("西华县公安局", "西公安"),
    ("西华县消防救援大队", "西消防"),
]

ITEMS = [  # (单位, 事项名称, 检查内容, 检查依据) — seed 三(一)–(四)
    ("西华县文化广电和旅游局", "网络文化经营许可证的许可情况",
     "是否取得《网络文化经营许可证》并在有效期内，是否在营业场所显著位置悬挂",
     "《互联网上网服务营业场所管理条例》第七条、第八条、第二十七条"),
    ("西华县文化广电和旅游局", "接纳未成年人进入营业场所情况",
     "是否接纳未成年人进入营业场所",
     "《互联网上网服务营业场所管理条例》第二十一条、第三十一条"),
    ("西华县文化广电和旅游局", "擅自停止实施安全技术措施情况",
     "是否擅自停止实施经营管理技术措施和安全技术措施",
     "《互联网上网服务营业场所管理条例》第十九条、第三十二条"),
    ("西华县文化广电和旅游局", "上网消费者有效身份证件核对、登记及上网信息记录情况",
     "是否核对、登记上网消费者的身份证等有效证件，并记录有关上网信息",
     "《互联网上网服务营业场所管理条例》第二十三条、第三十二条"),
    ("西华县文化广电和旅游局", "入口处显著位置悬挂未成年人禁入标志情况",
     "是否在营业场所入口处的显著位置悬挂未成年人禁入标志",
     "《互联网上网服务营业场所管理条例》第二十一条、第三十一条"),
    ("西华县市场监督管理局", "主体注册登记情况",
     "营业执照登记事项与实际经营情况是否一致，是否按规定公示年度报告",
     "《中华人民共和国市场主体登记管理条例》《企业信息公示暂行条例》"),
    ("西华县市场监督管理局", "食品销售监督检查",
     "经营资质、经营条件、食品标签和外观质量",
     "《中华人民共和国食品安全法》第三十五条、第六十七条"),
    ("西华县公安局", "利用营业场所制作、下载、复制、查阅、发布、传播违法信息情况",
     "经营单位和上网消费者是否利用营业场所制作、下载、复制、查阅、发布、传播或者以其他方式使用含有"
     "《条例》第十四条规定禁止内容的信息",
     "《互联网上网服务营业场所管理条例》第十四条、第十六条、第十七条、第十八条、第二十三条、第二十四条"),
    ("西华县消防救援大队", "消防安全检查合格及消防安全职责履行情况",
     "是否取得消防安全检查合格证明，是否履行法定消防安全职责",
     "《中华人民共和国消防法》第十六条、第二十条；《互联网上网服务营业场所管理条例》第二十条"),
]

INDUSTRY = "互联网上网服务营业场所"
OTHER_INDUSTRIES = ["歌舞娱乐场所", "游艺娱乐场所", "食品销售", "旅馆业"]
TOWNS = ["城关镇", "娄堡镇", "西夏亭镇", "东夏亭镇", "址坊镇", "红花集镇", "西华营镇", "聂堆镇", "逍遥镇",
         "奉母镇", "田口乡", "清河驿乡", "东王营乡", "大王庄乡", "李大庄乡", "叶埠口乡", "皮营乡", "艾岗乡"]
ROADS = ["人民路", "建设路", "工业路", "文化路", "华夏路", "箕城路", "青华路", "昆山路", "中心街", "新华街"]
WORDS = ["星辰", "极速", "网鱼", "天空", "蓝海", "飞腾", "英雄", "启航", "雷霆", "梦想", "未来", "电竞",
         "银河", "旋风", "宏图", "骏马", "金龙", "凌云", "超越", "锦程", "时空", "光速", "风暴", "远航"]
SUFFIXES = ["网吧", "网咖", "网络会所", "电竞馆"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅鹏飞宇浩然建国志文博晨阳亮斌辉凯"

_ORG_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(i: int) -> str:
    """A 9-character 组织机构代码 (GB 11714, with its own check character) unique for 0 ≤ i < 21,000,000."""
    hi, lo = divmod(i, 1_000_000)
    if not 0 <= hi < len(_ORG_LETTERS):
        raise ValueError(f"index out of range: {i}")
    body = "M" + _ORG_LETTERS[hi] + f"{lo:06d}"
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def generate_uscc(i: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015) registered in 西华县, unique per i."""
    kind = "91" if i % 4 == 0 else "92"  # 企业 / 个体工商户
    body = kind + REGION + _org_code(i)
    return body + calc_check_digit(body)


def _person_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in used:
            used.add(name)
            return name


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "151", "186", "187", "176")) + f"{rng.randrange(10**8):08d}"


def _target_row(i: int, rng: random.Random) -> list[Any]:
    industry = INDUSTRY if rng.random() < 0.8 else rng.choice(OTHER_INDUSTRIES)
    suffix = rng.choice(SUFFIXES) if industry == INDUSTRY else {
        "歌舞娱乐场所": "KTV", "游艺娱乐场所": "游艺城", "食品销售": "超市", "旅馆业": "宾馆"}[industry]
    town = rng.choice(TOWNS)
    name = f"西华县{town.removesuffix('镇').removesuffix('乡')}{rng.choice(WORDS)}{suffix}"
    credit = rng.choices(["A", "B", "C", "D", None], weights=(20, 40, 20, 5, 15))[0]
    status = rng.choices(["正常", "停业", "注销"], weights=(90, 6, 4))[0]
    used: set[str] = set()
    return [name, generate_uscc(i), _person_name(rng, used), f"西华县{town}{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
            industry, credit, _phone(rng), status]


def _headers(kind: str) -> list[str]:
    return [c.header for c in SHEET_BY_KIND[kind].columns]


def sample_sheets(n_targets: int = 30, seed: int = 0) -> dict[str, list[list[Any]]]:
    """Sheet title → rows (header first) of the five directory sheets; tests alter them before writing."""
    rng = random.Random(seed)
    used: set[str] = set()
    people: list[list[Any]] = [_headers("people")]
    certs: dict[str, list[str]] = {}

    def person(name: str, dept: str, roles: str, cert: str | None = None, expiry: dt.date | None = None) -> None:
        used.add(name)
        people.append([name, dept, roles, cert, expiry, _phone(rng), "在岗"])

    # The leading group and department heads named in the seed (六(一)); the rest are generated.
    person("马勇", DEPARTMENTS[0][0], "领导小组")
    person("侯奇", DEPARTMENTS[0][0], "分管领导、领导小组", "411622010099", dt.date(2029, 12, 31))
    person("陈彦兵", DEPARTMENTS[1][0], "分管领导")
    person("王黎明", DEPARTMENTS[2][0], "分管领导")
    person(_person_name(rng, used), DEPARTMENTS[3][0], "分管领导")
    person(_person_name(rng, used), DEPARTMENTS[0][0], "管理员")
    for d, (dept, _) in enumerate(DEPARTMENTS, 1):
        certs[dept] = []
        for k in range(1, (8 if d == 1 else 6) + 1):
            cert = f"4116220{d}{k:04d}"
            certs[dept].append(cert)
            roles = "检查人员,联络员" if (d, k) == (1, 1) else "检查人员"
            person(_person_name(rng, used), dept, roles, cert, dt.date(2028 + k % 3, (6, 12)[k % 2], (30, 31)[k % 2]))

    targets: list[list[Any]] = [_headers("targets")]
    names: dict[str, int] = {}
    for i in range(1, n_targets + 1):
        row = _target_row(i, rng)
        seen = names.get(row[0], 0)
        names[row[0]] = seen + 1
        if seen:  # names need not be unique, but a reader of the demo should tell them apart
            row[0] += f"（{seen + 1}店）"
        targets.append(row)

    conflicts: list[list[Any]] = [_headers("conflicts")]
    if n_targets:
        for dept, t_index, reason in ((DEPARTMENTS[0][0], 1, "亲属关系"), (DEPARTMENTS[1][0], 3, "曾在该单位任职"),
                                      (DEPARTMENTS[2][0], 5, "其他利害关系")):
            row = targets[1 + (t_index - 1) % n_targets]
            pair = [certs[dept][t_index % len(certs[dept])], row[1], reason]
            if pair[:2] not in [c[:2] for c in conflicts[1:]]:
                conflicts.append(pair)

    return {
        "单位": [_headers("departments"), *[list(d) for d in DEPARTMENTS]],
        "抽查事项": [_headers("items"), *[list(i) for i in ITEMS]],
        "人员名录": people,
        "检查对象": targets,
        "回避关系": conflicts,
    }


def write_workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """Sheets as given (title → rows) into .xlsx bytes; dates get a date format."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def sample_workbook(n_targets: int = 30, seed: int = 0) -> bytes:
    """A valid five-sheet directory workbook."""
    return write_workbook(sample_sheets(n_targets, seed))


def targets_workbook(n: int, seed: int = 0) -> bytes:
    """Only a 检查对象 sheet of n rows, written in write-only mode (the 100,000-row benchmark)."""
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("检查对象")
    ws.append(_headers("targets"))
    for i in range(1, n + 1):
        ws.append(_target_row(i, rng))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
