"""Code lists (代码表): stages, special-group categories, sources, statuses, reasons.

Each enum member carries its Chinese label; parsing accepts the English code, the
two-digit code where one exists, or any Chinese name, so imports and the API agree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A str enum whose members have Chinese labels (and optional alias names).

    A member is declared as `NAME = (code, label, *aliases)`; `Enum(code)` looks one up by its code.
    """

    label: str
    aliases: tuple[str, ...]

    def __new__(cls, value: str, *names: str) -> Self:  # names = (label, *aliases)
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label, *aliases = names
        obj.aliases = tuple(aliases)
        return obj

    @classmethod
    def parse(cls, text: str):
        """Return the member named by `text` (code, number or Chinese name) or raise ValueError."""
        key = (text or "").strip()
        for member in cls:
            if key in (member.value, member.name, member.label, *member.aliases):
                return member
        raise ValueError(key)


class Stage(LabelledEnum):
    """学段"""

    PRESCHOOL = ("PRESCHOOL", "学前教育", "学前")
    COMPULSORY = ("COMPULSORY", "义务教育")
    GENERAL_HIGH = ("GENERAL_HIGH", "普通高中", "普高")
    VOCATIONAL = ("VOCATIONAL", "中等职业教育", "中职")
    HIGHER = ("HIGHER", "本专科", "本专科生")
    GRADUATE = ("GRADUATE", "研究生")


class Category(LabelledEnum):
    """特殊群体类型 (13 categories). `number` is the two-digit code."""

    POVERTY_ALLEVIATED = ("POVERTY_ALLEVIATED", "脱贫家庭学生", "01")
    UNSTABLE_ALLEVIATED = ("UNSTABLE_ALLEVIATED", "脱贫不稳定家庭学生", "02")
    AT_RISK = ("AT_RISK", "边缘易致贫家庭学生", "03")
    SUDDEN_HARDSHIP = ("SUDDEN_HARDSHIP", "突发严重困难家庭学生", "04")
    SUBSISTENCE_ALLOWANCE = ("SUBSISTENCE_ALLOWANCE", "低保学生", "05")
    EXTREME_POVERTY = ("EXTREME_POVERTY", "特困救助学生", "06", "特困供养学生", "特困供养")
    ORPHAN = ("ORPHAN", "孤儿学生", "07")
    DISABLED = ("DISABLED", "残疾学生", "08")
    CHILD_OF_DISABLED = ("CHILD_OF_DISABLED", "残疾人子女", "09")
    DE_FACTO_UNSUPPORTED = ("DE_FACTO_UNSUPPORTED", "事实无人抚养儿童", "10")
    NEAR_SUBSISTENCE = ("NEAR_SUBSISTENCE", "低保边缘学生", "11")
    RIGID_EXPENDITURE = ("RIGID_EXPENDITURE", "刚性支出困难家庭学生", "12", "支出型困难家庭学生")
    OTHER_LOW_INCOME = ("OTHER_LOW_INCOME", "其他低收入家庭学生", "13")

    @property
    def number(self) -> str:
        return self.aliases[0]

    @property
    def bit(self) -> int:
        """Bit of this category in a result row's category mask (01 → 1, 02 → 2, 03 → 4 …)."""
        return 1 << (int(self.number) - 1)


class Source(LabelledEnum):
    """数据来源"""

    CENTRAL = ("CENTRAL", "中央下发")
    SELF = ("SELF", "自采集")


class EnrolmentStatus(LabelledEnum):
    """学籍状态"""

    ENROLLED = ("ENROLLED", "在读")
    GRADUATED = ("GRADUATED", "毕业")
    TRANSFERRED = ("TRANSFERRED", "转出")
    SUSPENDED = ("SUSPENDED", "休学")
    WITHDRAWN = ("WITHDRAWN", "退学")


class AidStatus(LabelledEnum):
    """审核状态 of an aid record / roster entry."""

    DRAFT = ("DRAFT", "录入")
    SUBMITTED = ("SUBMITTED", "已上报", "学校上报")
    SCHOOL_APPROVED = ("SCHOOL_APPROVED", "学校审核通过")
    APPROVED = ("APPROVED", "审核通过", "上级审核通过", "主管部门审核通过")
    RETURNED = ("RETURNED", "退回")


class ProjectKind(LabelledEnum):
    """资助项目类别"""

    RELIEF = ("RELIEF", "助困")
    MERIT = ("MERIT", "奖优")
    OTHER = ("OTHER", "其他")


class Cycle(LabelledEnum):
    """资助周期类型"""

    SEMESTER = ("SEMESTER", "学期")
    YEAR = ("YEAR", "学年")


class Role(LabelledEnum):
    """账号角色"""

    SCHOOL_OPERATOR = ("SCHOOL_OPERATOR", "学校业务操作人员")
    SCHOOL_REVIEWER = ("SCHOOL_REVIEWER", "学校审核人员")
    AUTHORITY_OPERATOR = ("AUTHORITY_OPERATOR", "主管部门业务操作人员")
    ADMIN = ("ADMIN", "系统管理员")


class WindowAction(LabelledEnum):
    """时间窗口动作"""

    ENTRY = ("ENTRY", "名单录入")
    SCHOOL_REVIEW = ("SCHOOL_REVIEW", "学校审核")
    AUTHORITY_REVIEW = ("AUTHORITY_REVIEW", "主管部门审核")


class WindowPhase(LabelledEnum):
    """时间窗口状态（按服务器时间）"""

    NOT_STARTED = ("NOT_STARTED", "未开始")
    OPEN = ("OPEN", "进行中")
    CLOSED = ("CLOSED", "已截止")


class ReviewDecision(LabelledEnum):
    """审核结果"""

    APPROVE = ("APPROVE", "审核通过")
    RETURN = ("RETURN", "退回")


class RegionLevel(LabelledEnum):
    """行政区划级别"""

    NATION = ("NATION", "全国")
    PROVINCE = ("PROVINCE", "省级")
    CITY = ("CITY", "地市级")
    COUNTY = ("COUNTY", "区县级")


class RunStatus(LabelledEnum):
    """比对批次状态"""

    QUEUED = ("QUEUED", "排队中")
    RUNNING = ("RUNNING", "比对中")
    SUCCEEDED = ("SUCCEEDED", "已完成")
    FAILED = ("FAILED", "失败")


class RunTrigger(LabelledEnum):
    """比对触发方式"""

    CRON = ("CRON", "每日02:00定时比对")
    MANUAL = ("MANUAL", "管理员重新比对")
    CLI = ("CLI", "命令行比对")


class ReasonStatus(LabelledEnum):
    """原因填报状态"""

    REPORTED = ("REPORTED", "已填报")
    PENDING = ("PENDING", "未填报")


class ChangeKind(LabelledEnum):
    """比对变动类型（较上一次发布的批次）"""

    NEWLY_UNFUNDED = ("NEWLY_UNFUNDED", "新增未资助")
    NEWLY_FUNDED = ("NEWLY_FUNDED", "新获资助")
    MOVED = ("MOVED", "改计入本校（重复学籍）")


class AidVerdict(LabelledEnum):
    """资助记录未计为已资助的原因 (why an aid record did not make the student funded), in the
    notice's terms; the alias is the short form used in exports."""

    OTHER_STAGE = ("OTHER_STAGE", "其他学段的资助项目，不计入本学段", "其他学段")
    OTHER_PERIOD = ("OTHER_PERIOD", "其他资助周期的记录，不计入本周期", "其他周期")
    MERIT = ("MERIT", "奖优类项目，不属于助困类资助", "奖优类项目")
    NOT_RELIEF = ("NOT_RELIEF", "非助困类项目", "非助困项目")
    DRAFT = ("DRAFT", "录入：学校尚未上报", "录入未上报")
    SUBMITTED = ("SUBMITTED", "已上报：待学校审核", "待学校审核")
    SCHOOL_APPROVED = ("SCHOOL_APPROVED", "学校审核通过：待主管部门审核", "待主管部门审核")
    RETURNED = ("RETURNED", "退回：待学校修改后重新上报", "已退回")
    OTHER_PROJECT = ("OTHER_PROJECT", "已获本学段其他助困项目资助，不计入本项目模块", "其他助困项目")
    APPROVED_SINCE = ("APPROVED_SINCE", "上级审核通过：下次比对后计为已资助", "下次比对计入")

    @property
    def short(self) -> str:
        return self.aliases[0]


# 未资助原因 — seeded into the reason_code table; 99 requires a written detail.
UNFUNDED_REASONS: dict[str, str] = {
    "01": "学生本人（监护人）自愿放弃/未申请",
    "02": "已享受其他同类资助（地方政策、社会资助等）",
    "03": "已毕业/已离校",
    "04": "转学（转出本校/跨省就读）",
    "05": "休学/退学/辍学",
    "06": "不在资助政策覆盖范围（年级、学段、学制不符等）",
    "07": "家庭经济状况好转，经认定不属于家庭经济困难",
    "08": "身份信息有误/人员不在本校",
    "09": "在外地就读，由就读地资助",
    "10": "资助名额/资金不足，纳入下学期",
    "99": "其他（须填写说明）",
}
REASON_NEEDS_DETAIL = "99"

# 资助项目目录 seed: code → (name, stage, kind, cycle)
PROJECT_CATALOGUE: dict[str, tuple[str, Stage, ProjectKind, Cycle]] = {
    "PRE_GOV": ("学前教育政府资助", Stage.PRESCHOOL, ProjectKind.RELIEF, Cycle.SEMESTER),
    "CMP_LIVING": ("家庭经济困难学生生活补助", Stage.COMPULSORY, ProjectKind.RELIEF, Cycle.SEMESTER),
    "CMP_NUTRITION": ("农村义务教育学生营养改善计划", Stage.COMPULSORY, ProjectKind.OTHER, Cycle.SEMESTER),
    "GH_GRANT": ("普通高中国家助学金", Stage.GENERAL_HIGH, ProjectKind.RELIEF, Cycle.SEMESTER),
    "GH_FEE_WAIVER": ("建档立卡等家庭经济困难学生免学杂费", Stage.GENERAL_HIGH, ProjectKind.RELIEF, Cycle.SEMESTER),
    "VOC_GRANT": ("中职国家助学金", Stage.VOCATIONAL, ProjectKind.RELIEF, Cycle.SEMESTER),
    "VOC_FREE_TUITION": ("中职国家免学费", Stage.VOCATIONAL, ProjectKind.RELIEF, Cycle.SEMESTER),
    "HE_GRANT": ("本专科生国家助学金", Stage.HIGHER, ProjectKind.RELIEF, Cycle.YEAR),
    "HE_NATIONAL_SCHOLARSHIP": ("本专科生国家奖学金", Stage.HIGHER, ProjectKind.MERIT, Cycle.YEAR),
    "GR_GRANT": ("研究生国家助学金", Stage.GRADUATE, ProjectKind.RELIEF, Cycle.YEAR),
    "GR_NATIONAL_SCHOLARSHIP": ("研究生国家奖学金", Stage.GRADUATE, ProjectKind.MERIT, Cycle.YEAR),
}
PRESCHOOL_PROJECT = "PRE_GOV"
