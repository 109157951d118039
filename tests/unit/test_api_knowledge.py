"""The knowledge base over HTTP (``hotline.knowledge.http``), on SQLite and PostgreSQL.

The world has the seed articles (``hotline/knowledge/seed.yaml``) loaded; its clock reads
Monday 2026-11-23 09:00 in the center.
"""

from __future__ import annotations

import pytest

from hotline.db import session_scope
from hotline.knowledge.service import load_seed
from tests.api import ApiWorld

STAFF = ("operator", "supervisor", "callback", "admin", "cg")
SEED_ARTICLES = 18


@pytest.fixture
def world(api_world: ApiWorld) -> ApiWorld:
    with session_scope(api_world.engine) as session:
        load_seed(session=session)
    return api_world


def write(world: ApiWorld, **fields: object) -> dict:
    body = {"title": "测试文章", "body": "正文。", "unit_name": "市城管局", **fields}
    r = world.client("supervisor").post("/api/knowledge/articles", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def titles(world: ApiWorld, q: str, **params: str) -> list[str]:
    r = world.client("operator").get("/api/knowledge/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [hit["title"] for hit in r.json()["hits"]]


def field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["details"]["fields"]]


def test_given_the_seed_when_every_staff_role_searches_in_chinese_then_the_lost_card_first(
    world: ApiWorld,
):
    for user in STAFF:
        r = world.client(user).get("/api/knowledge/search", params={"q": "社保卡丢了怎么补办"})
        assert r.status_code == 200, (user, r.text)
        result = r.json()
        first = result["hits"][0]
        assert result["on"] == "2026-11-23"
        assert first["title"] == "社会保障卡遗失补办"
        assert first["unit_name"] == "市人力资源和社会保障局"
        assert "<mark>社保卡丢失</mark>" in first["snippet"]
        assert first["score"] > 0 and isinstance(first["id"], int)
        assert first["valid_from"] is None and first["valid_to"] is None


def test_given_a_limit_when_searching_then_no_more_hits_than_asked(world: ApiWorld):
    r = world.client("operator").get("/api/knowledge/search", params={"q": "身份证", "limit": 2})
    assert r.status_code == 200
    assert len(r.json()["hits"]) == 2


def test_given_no_token_when_reading_or_writing_then_401(world: ApiWorld):
    anonymous = world.anonymous()
    assert anonymous.get("/api/knowledge/search", params={"q": "社保卡"}).status_code == 401
    assert anonymous.get("/api/knowledge/articles").status_code == 401
    r = anonymous.post("/api/knowledge/articles", json={"title": "x", "body": "y"})
    assert r.status_code == 401
    assert r.json()["error_id"] == "not-authenticated"


@pytest.mark.parametrize("q", ["", "   "])
def test_given_a_blank_query_when_searching_then_422_naming_q(world: ApiWorld, q: str):
    r = world.client("operator").get("/api/knowledge/search", params={"q": q})
    assert r.status_code == 422
    assert r.json()["error_id"] == "invalid-request"
    assert field_names(r) == ["q"]


def test_given_no_query_when_searching_then_422_naming_q(world: ApiWorld):
    r = world.client("operator").get("/api/knowledge/search")
    assert (r.status_code, field_names(r)) == (422, ["q"])


def test_given_an_article_valid_from_tomorrow_when_the_clock_reaches_it_then_it_is_found(
    world: ApiWorld,
):
    write(world, title="冬季供暖报修", body="供暖不热请报修。", valid_from="2026-11-24")

    assert "冬季供暖报修" not in titles(world, "供暖报修")
    assert "冬季供暖报修" in titles(world, "供暖报修", on="2026-11-24")
    world.clock.advance(days=1)
    assert "冬季供暖报修" in titles(world, "供暖报修")


def test_given_markup_in_an_article_when_found_then_the_snippet_is_escaped(world: ApiWorld):
    write(world, title="网页说明", body="输入<b>验证码</b>后提交")

    r = world.client("operator").get("/api/knowledge/search", params={"q": "验证码"})
    snippet = r.json()["hits"][0]["snippet"]
    assert snippet == "输入&lt;b&gt;<mark>验证码</mark>&lt;/b&gt;后提交"


def test_given_an_article_when_read_by_id_then_its_fields_else_404(world: ApiWorld):
    made = write(world, title="井盖丢失", keywords=["井盖", " 井盖 ", "窨井"])
    client = world.client("cg")

    r = client.get(f"/api/knowledge/articles/{made['id']}")
    assert r.status_code == 200
    assert (r.json()["title"], r.json()["keywords"], r.json()["active"]) == (
        "井盖丢失", ["井盖", "窨井"], True)
    missing = client.get("/api/knowledge/articles/99999")
    assert missing.status_code == 404
    assert missing.json()["error_id"] == "no-such-article"
    assert missing.json()["details"] == {"article_id": 99999}


def test_given_the_seed_when_listed_then_filtered_by_unit_and_active_and_paged(world: ApiWorld):
    client = world.client("callback")
    everything = client.get("/api/knowledge/articles").json()
    assert everything["count"] == SEED_ARTICLES == len(everything["data"])

    police = client.get("/api/knowledge/articles", params={"unit": "市公安局"}).json()
    assert police["count"] == 2
    assert {a["slug"] for a in police["data"]} == {
        "residence-permit", "household-registration-transfer"}

    page = client.get("/api/knowledge/articles", params={"limit": 5, "offset": 16}).json()
    assert (page["count"], len(page["data"])) == (SEED_ARTICLES, 2)
    assert page["data"][-1]["id"] == everything["data"][-1]["id"]

    retired = police["data"][0]["id"]
    assert world.client("admin").delete(f"/api/knowledge/articles/{retired}").status_code == 204
    inactive = client.get("/api/knowledge/articles", params={"active": "false"}).json()
    assert [a["id"] for a in inactive["data"]] == [retired]
    active = client.get("/api/knowledge/articles", params={"active": "true"}).json()
    assert active["count"] == SEED_ARTICLES - 1


def test_given_bad_paging_when_listing_then_422_naming_the_field(world: ApiWorld):
    r = world.client("operator").get("/api/knowledge/articles", params={"limit": 0})
    assert (r.status_code, field_names(r)) == (422, ["limit"])


@pytest.mark.parametrize("editor", ["supervisor", "admin"])
def test_given_an_editor_when_an_article_is_posted_then_201_and_it_is_searchable(
    world: ApiWorld, editor: str,
):
    r = world.client(editor).post("/api/knowledge/articles", json={
        "title": "共享单车乱停放", "body": "共享单车乱停放请联系运营企业清理。",
        "keywords": ["单车"], "unit_name": "市城管局", "valid_to": "2027-12-31",
    })
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["active"], made["slug"], made["valid_to"]) == (True, None, "2027-12-31")
    assert made["created_at"].startswith("2026-11-23")
    assert titles(world, "单车乱停")[0] == "共享单车乱停放"


@pytest.mark.parametrize("user", ["operator", "cg", "callback"])
def test_given_a_non_editor_when_writing_then_403_and_nothing_changes(world: ApiWorld, user: str):
    client = world.client(user)
    article = client.get("/api/knowledge/articles", params={"limit": 1}).json()["data"][0]
    url = f"/api/knowledge/articles/{article['id']}"

    posted = client.post("/api/knowledge/articles", json={"title": "x", "body": "y"})
    patched = client.patch(url, json={"title": "改了"})
    deleted = client.delete(url)

    assert [r.status_code for r in (posted, patched, deleted)] == [403, 403, 403]
    assert posted.json()["error_id"] == "role-not-allowed"
    assert client.get(url).json() == article
    assert client.get("/api/knowledge/articles").json()["count"] == SEED_ARTICLES


def test_given_a_body_without_title_when_posted_then_422_naming_title(world: ApiWorld):
    r = world.client("supervisor").post("/api/knowledge/articles", json={"body": "正文"})
    assert (r.status_code, field_names(r)) == (422, ["title"])


def test_given_a_slug_in_use_when_posted_then_422_naming_slug(world: ApiWorld):
    r = world.client("supervisor").post("/api/knowledge/articles", json={
        "title": "重复", "body": "正文", "slug": "residence-permit"})
    assert r.status_code == 422
    assert r.json()["error_id"] == "invalid-article"
    assert r.json()["details"]["field"] == "slug"


def test_given_a_new_title_when_patched_then_search_follows_and_the_rest_stays(world: ApiWorld):
    made = write(world, title="犬只扰民", body="犬只扰民可向所在社区反映。", keywords=["养狗"])
    world.clock.advance(hours=1)

    r = world.client("admin").patch(f"/api/knowledge/articles/{made['id']}",
                                    json={"title": "宠物犬管理"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["title"], changed["body"], changed["keywords"]) == (
        "宠物犬管理", made["body"], ["养狗"])
    assert changed["updated_at"] > made["updated_at"]
    assert "宠物犬管理" in titles(world, "宠物犬")
    assert "犬只扰民" not in titles(world, "宠物犬")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"title": ""}, 422, "title"),  # refused by the body model
    ({"title": None}, 422, "title"),  # refused by the service: a title cannot be removed
    ({"valid_from": "2027-01-02", "valid_to": "2027-01-01"}, 422, "valid_to"),
])
def test_given_a_bad_change_when_patched_then_422_naming_the_field(
    world: ApiWorld, body: dict, status: int, field: str,
):
    made = write(world)
    r = world.client("supervisor").patch(f"/api/knowledge/articles/{made['id']}", json=body)
    assert r.status_code == status
    answer = r.json()
    named = answer["details"].get("field") or field_names(r)[0]
    assert named == field
    assert world.client("supervisor").get(f"/api/knowledge/articles/{made['id']}").json() == made


def test_given_an_unknown_article_when_patched_or_retired_then_404(world: ApiWorld):
    client = world.client("supervisor")
    assert client.patch("/api/knowledge/articles/99999", json={"title": "x"}).status_code == 404
    assert client.delete("/api/knowledge/articles/99999").status_code == 404


def test_given_an_article_when_retired_then_204_out_of_search_and_kept(world: ApiWorld):
    assert titles(world, "公积金提取")[0] == "住房公积金提取"
    listed = world.client("operator").get("/api/knowledge/articles").json()["data"]
    fund = next(a for a in listed if a["slug"] == "housing-fund-withdrawal")

    r = world.client("supervisor").delete(f"/api/knowledge/articles/{fund['id']}")

    assert (r.status_code, r.content) == (204, b"")
    assert "住房公积金提取" not in titles(world, "公积金提取")
    kept = world.client("operator").get(f"/api/knowledge/articles/{fund['id']}").json()
    assert (kept["title"], kept["active"]) == ("住房公积金提取", False)
