"""A small hand-made world: two provinces, schools at every administrative level, one account per role."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from zizhu.domain.models import Account, Region, School
from zizhu.domain.reference.identity import make_id_number

PASSWORD = "Zizhu-test-2024"

REGIONS = [
    ("430000", "湖南省", "000000", "PROVINCE"),
    ("430100", "长沙市", "430000", "CITY"),
    ("430102", "芙蓉区", "430100", "COUNTY"),
    ("430103", "天心区", "430100", "COUNTY"),
    ("430200", "株洲市", "430000", "CITY"),
    ("430202", "荷塘区", "430200", "COUNTY"),
    ("440000", "广东省", "000000", "PROVINCE"),
    ("440100", "广州市", "440000", "CITY"),
    ("440103", "荔湾区", "440100", "COUNTY"),
]

# code, name, administering region
SCHOOLS = [
    ("1143000001", "芙蓉区第一幼儿园", "430102"),
    ("2143000002", "芙蓉区实验小学", "430102"),
    ("2143000003", "天心区九年一贯制学校", "430103"),
    ("3443000004", "长沙市第一中学", "430100"),
    ("3643000005", "湖南省职业技术学校", "430000"),
    ("4143000006", "湖南省属大学", "430000"),
    ("4143000007", "教育部直属大学", "000000"),
    ("2143000008", "荷塘区小学", "430202"),
    ("2144000009", "荔湾区小学", "440103"),
]

# username, role, scope, stages
ACCOUNTS = [
    ("kg_op", "SCHOOL_OPERATOR", "1143000001", "PRESCHOOL"),
    ("kg_rev", "SCHOOL_REVIEWER", "1143000001", "PRESCHOOL"),
    ("school_op", "SCHOOL_OPERATOR", "2143000002", ""),
    ("school_rev", "SCHOOL_REVIEWER", "2143000002", ""),
    ("other_school_op", "SCHOOL_OPERATOR", "2143000008", ""),
    ("county_op", "AUTHORITY_OPERATOR", "430102", ""),
    ("city_op", "AUTHORITY_OPERATOR", "430100", ""),
    ("province_op", "AUTHORITY_OPERATOR", "430000", ""),
    ("province_preschool_op", "AUTHORITY_OPERATOR", "430000", "PRESCHOOL"),
    ("gd_op", "AUTHORITY_OPERATOR", "440000", ""),
    ("admin", "ADMIN", "000000", ""),
]


@lru_cache(maxsize=1)
def _password_hash() -> str:
    """PASSWORD hashed once per session, by the hasher the tests use (see cheap_password_hashing)."""
    from zizhu.domain.accounts import passwords

    return passwords._hasher.hash(PASSWORD)


@dataclass
class World:
    regions: list
    schools: dict[str, str]
    accounts: list


def student_id(serial: int, region: str = "430102", birth: str = "20150101") -> str:
    """A valid ID number, distinct per serial."""
    return make_id_number(f"{region}{birth}{serial:03d}")


async def build() -> World:
    from zizhu.domain.reference.identity import province_of_school

    # one INSERT per table (the world is built by most tests)
    existing = set(await Region.filter(code__in=[r[0] for r in REGIONS]).values_list("code", flat=True))
    await Region.bulk_create(
        [
            Region(code=code, name=name, parent_code=parent, level=level)
            for code, name, parent, level in REGIONS
            if code not in existing
        ]
    )
    await School.bulk_create(
        [
            School(code=code, name=name, region_code=region, province=province_of_school(code))
            for code, name, region in SCHOOLS
        ]
    )
    await Account.bulk_create(
        [
            Account(username=username, password_hash=_password_hash(), role=role, scope_code=scope, stages=stages)
            for username, role, scope, stages in ACCOUNTS
        ]
    )
    return World(regions=REGIONS, schools={c: n for c, n, _ in SCHOOLS}, accounts=ACCOUNTS)
