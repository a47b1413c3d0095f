"""Foundation: migrations and seeds, ID numbers, sign-in, error codes, health, schema in sync."""

from __future__ import annotations

from pathlib import Path

from zizhu.domain import db, installation
from zizhu.domain.models import AidProject, CategoryCode, ReasonCode, StageCode

ROOT = Path(__file__).resolve().parents[1]


async def test_code_lists_are_seeded():
    assert await StageCode.all().count() == 6
    assert await CategoryCode.all().count() == 13
    assert (await CategoryCode.get(number="12")).label == "刚性支出困难家庭学生"
    assert (await ReasonCode.get(code="99")).needs_detail is True
    assert (await ReasonCode.get(code="01")).needs_detail is False
    he = await AidProject.get(code="HE_GRANT")
    assert (he.stage, he.kind, he.cycle) == ("HIGHER", "RELIEF", "YEAR")
    assert (await AidProject.get(code="HE_NATIONAL_SCHOLARSHIP")).kind == "MERIT"


async def test_migrate_twice_is_a_no_op(database_url):
    before = await StageCode.all().count()
    # The session keeps its own connection open; a second migrate must find nothing to do.
    await installation.migrate(database_url)
    await db.init(database_url)
    assert await StageCode.all().count() == before


async def test_login_and_me(gql, world):
    token = await gql.login("county_op")
    me = (await gql.data("{ me { username role scopeCode stages } }", token=token))["me"]
    assert me == {"username": "county_op", "role": "AUTHORITY_OPERATOR", "scopeCode": "430102", "stages": []}


async def test_bad_login_and_missing_token(gql, world):
    code = await gql.error_code('mutation { login(username: "county_op", password: "wrong-password") { token } }')
    assert code == "UNAUTHENTICATED"
    assert await gql.error_code("{ me { username } }") == "UNAUTHENTICATED"
    assert await gql.error_code("{ me { username } }", token="not-a-token") == "UNAUTHENTICATED"


async def test_expired_token_is_rejected(gql, world):
    import datetime as dt

    import jwt

    from zizhu.domain import settings

    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    claims = {"sub": "county_op", "iat": past, "exp": past + dt.timedelta(hours=1)}
    token = jwt.encode(claims, settings.load().signing_key, algorithm="HS256")
    body = await gql.post("{ me { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "过期" in body["errors"][0]["message"]


async def test_code_lists_query(gql):
    data = await gql.data("{ codeLists { categories { code number label } reasons { code label } } }")
    cats = data["codeLists"]["categories"]
    assert len(cats) == 13 and cats[0] == {"code": "POVERTY_ALLEVIATED", "number": "01", "label": "脱贫家庭学生"}
    assert [r["code"] for r in data["codeLists"]["reasons"]][-1] == "99"


async def test_depth_and_alias_limits(gql):
    aliases = " ".join(f"a{i}: codeLists {{ stages {{ code }} }}" for i in range(40))
    body = await gql.post("{ " + aliases + " }")
    assert body["errors"] and "alias" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked(gql, monkeypatch, caplog):
    from zizhu.domain.models import ReasonCode as RC

    async def boom(*a, **k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(
        RC, "all", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError("secret internal detail")))
    )
    body = await gql.post("{ codeLists { reasons { code } } }")
    err = body["errors"][0]
    assert "secret" not in err["message"]
    assert err["extensions"]["code"] == "INTERNAL"


async def test_healthz(app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
