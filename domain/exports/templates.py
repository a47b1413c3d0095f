"""Import templates (导入模板) for every import kind, as .xlsx.

Design notes: docs/design/domain-exports.md."""

from __future__ import annotations

import io
from dataclasses import dataclass

from zizhu.domain.errors import NotFound
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.reference.codes import (
    PROJECT_CATALOGUE,
    UNFUNDED_REASONS,
    AidStatus,
    Category,
    EnrolmentStatus,
    LabelledEnum,
    Source,
    Stage,
)
from zizhu.domain.reference.identity import make_id_number
from zizhu.domain.roster import importer as roster_importer

ROSTER = "preschool-roster"
TEMPLATE_KINDS = (*KINDS, ROSTER)
DATA_SHEET, NOTES_SHEET = "导入数据", "填写说明"
LAST_ROW = 1_048_576  # Excel's last row: drop-downs cover the whole column below the header
EXAMPLE_ID = make_id_number("43010220050101001")
EXAMPLE_SCHOOL = "4143000001"


@dataclass(frozen=True)
class Rule:
    """One column: required or not, what it accepts, text format, drop-down choices."""

    required: bool
    accepts: str
    text: bool = False
    choices: tuple[str, ...] = ()


def _choices(cls: type[LabelledEnum]) -> tuple[str, ...]:
    return tuple(m.label for m in cls)


def _named(cls: type[LabelledEnum]) -> str:
    return "、".join(m.label for m in cls)


ID_RULE = Rule(True, "18位居民身份证号码，末位可为X（大小写均可）", text=True)
SCHOOL_RULE = Rule(True, "10位学校标识码，须已导入", text=True)
STAGE_RULE = Rule(True, f"学段名称或代码：{_named(Stage)}", choices=_choices(Stage))
SEMESTER_RULE = Rule(True, "学期代码，如 2023-2024-1（2023-2024学年秋季学期）、2023-2024-2（春季学期）", text=True)

RULES: dict[str, dict[str, Rule]] = {
    "regions": {
        "行政区划代码": Rule(True, "6位行政区划代码（GB/T 2260），如 430102；全国为 000000", text=True),
        "名称": Rule(True, "区划名称，最多100字"),
        "上级代码": Rule(
            False,
            "上级区划的6位代码；省级可不填（即全国 000000），其余必填；上级须已导入或在本文件中更靠前的行",
            text=True,
        ),
    },
    "schools": {
        "学校标识码": Rule(
            True,
            "10位数字：2位学校类别（11 幼儿园、21 小学、31 初中、34 普通高中、36 中职、"
            "41 普通高校）+ 2位省份代码 + 6位序号",
            text=True,
        ),
        "学校名称": Rule(True, "最多200字"),
        "主管区划代码": Rule(
            True, "主管教育部门所在区划的6位代码，须已导入，省份须与学校标识码一致；教育部直属高校为 000000", text=True
        ),
    },
    "students": {
        "身份证件号": ID_RULE,
        "姓名": Rule(True, "最多50字"),
        "学校标识码": SCHOOL_RULE,
        "学段": STAGE_RULE,
        "年级": Rule(False, "如 2023级，最多20字"),
        "学籍状态": Rule(True, _named(EnrolmentStatus), choices=_choices(EnrolmentStatus)),
    },
    "aid": {
        "身份证件号": ID_RULE,
        "学校标识码": SCHOOL_RULE,
        "资助项目代码": Rule(True, "资助项目代码或名称，见下方“资助项目”（管理员增补的项目同样可用）", text=True),
        "资助周期": Rule(
            True, "按学期资助的项目填学期代码（如 2023-2024-1），按学年资助的项目填学年（如 2023-2024）", text=True
        ),
        "金额": Rule(True, "资助金额（元），不小于0，最多两位小数"),
        "审核状态": Rule(True, _named(AidStatus), choices=_choices(AidStatus)),
    },
    "special-groups": {
        "身份证件号": ID_RULE,
        "姓名": Rule(False, "最多50字"),
        "特殊群体类型": Rule(True, "类型名称或两位代码，见下方“特殊群体类型”", choices=_choices(Category)),
        "数据来源": Rule(True, _named(Source), choices=_choices(Source)),
        "资助周期": SEMESTER_RULE,
    },
    "legacy-reasons": {
        "身份证件号": ID_RULE,
        "姓名": Rule(False, "最多50字"),
        "学校标识码": SCHOOL_RULE,
        "学段": STAGE_RULE,
        "资助周期": SEMESTER_RULE,
        "未资助原因": Rule(True, "原因代码或名称，见下方“未资助原因”", text=True),
        "原因说明": Rule(False, "未资助原因为“99 其他”时必填"),
        "填报时间": Rule(False, "如 2024-01-15 10:30:00（北京时间）"),
    },
}

# Examples that import in order: region → school → student → aid, special group, history.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "regions": ("430000", "湖南省", "000000"),
    "schools": (EXAMPLE_SCHOOL, "湖南示例大学", "430000"),
    "students": (EXAMPLE_ID, "张三", EXAMPLE_SCHOOL, "本专科", "2023级", "在读"),
    "aid": (EXAMPLE_ID, EXAMPLE_SCHOOL, "HE_GRANT", "2023-2024", "3300.00", "审核通过"),
    "special-groups": (EXAMPLE_ID, "张三", "脱贫家庭学生", "中央下发", "2023-2024-1"),
    "legacy-reasons": (EXAMPLE_ID, "张三", EXAMPLE_SCHOOL, "本专科", "2023-2024-1", "01", "", "2024-01-05 10:00:00"),
}


def _value_lists(kind: str) -> list[tuple[str, list[list[str]]]]:
    """The code lists a kind's columns refer to: (title, rows of code and name)."""
    headers = KINDS[kind].headers
    lists: list[tuple[str, list[list[str]]]] = []
    if "特殊群体类型" in headers:
        lists.append(("特殊群体类型", [[c.number, c.label, "、".join(c.aliases[1:])] for c in Category]))
    if "未资助原因" in headers:
        lists.append(("未资助原因", [[code, label] for code, label in UNFUNDED_REASONS.items()]))
    if "资助项目代码" in headers:
        lists.append(
            (
                "资助项目",
                [
                    [code, name, stage.label, f"{kind_.label}类，按{cycle.label}"]
                    for code, (name, stage, kind_, cycle) in PROJECT_CATALOGUE.items()
                ],
            )
        )
    if "学段" in headers:
        lists.append(("学段", [[s.value, s.label] for s in Stage]))
    return lists


def template_filename(kind: str) -> str:
    return f"{kind}.xlsx"


def template_label(kind: str) -> str:
    """The template's Chinese name, e.g. 学籍导入模板."""
    return "学前教育政府资助名单导入模板" if kind == ROSTER else f"{KINDS[kind].label}导入模板"


def template_bytes(kind: str) -> bytes:
    """The blank .xlsx template of an import kind (NOT_FOUND for an unknown kind)."""
    if kind == ROSTER:
        return roster_importer.template_bytes()
    if kind not in KINDS:
        raise NotFound(f"没有“{kind}”的导入模板，可选：{'、'.join(TEMPLATE_KINDS)}")
    return _workbook(kind)


def _workbook(kind: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

    headers, rules = KINDS[kind].headers, RULES[kind]
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = DATA_SHEET
    ws.append(list(headers))
    for index, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if rules[header].required else None)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, 2 * len(header) + 4, 22 if rules[header].text else 0)
        rule = rules[header]
        if rule.text:  # the whole column: keeps an 18-digit ID or a leading zero from turning into a number
            ws.column_dimensions[letter].number_format = "@"
        formula = '"' + ",".join(rule.choices) + '"'
        if rule.choices and len(formula) <= 255:
            # a drop-down only: codes and other accepted names may still be typed
            choices = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=False)
            ws.add_data_validation(choices)
            choices.add(f"{letter}2:{letter}{LAST_ROW}")
    ws.freeze_panes = "A2"

    notes = wb.create_sheet(NOTES_SHEET)
    notes.append(["列名", "是否必填", "填写要求（有效值）"])
    for header in headers:
        notes.append([header, "必填" if rules[header].required else "选填", rules[header].accepts])
    notes.append([])
    notes.append(
        ["说明", "", f"只导入第一张表「{DATA_SHEET}」：第1行为表头（不可修改），从第2行起每行一条记录；本表不会被导入"]
    )
    notes.append(["", "", "也可导入相同表头的 CSV 文件（UTF-8 编码）；列的顺序不限，多余的列被忽略"])
    notes.append(
        ["", "", "任一行有误则整个文件不导入，并列出每一处错误（行号、列名、原因）；重复导入同一文件不会产生重复数据"]
    )
    notes.append([])
    notes.append([f"示例（请在「{DATA_SHEET}」表中按此格式填写）"])
    notes.append(list(headers))
    notes.append(list(EXAMPLES[kind]))
    for title, rows in _value_lists(kind):
        notes.append([])
        notes.append([title])
        for line in rows:
            notes.append(line)
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (16, 36, 90, 24)):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
