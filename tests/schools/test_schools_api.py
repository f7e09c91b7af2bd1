import uuid

from tests.core.test_errors import assert_problem
from tests.factories import school_body


async def test_admin_creates_reads_and_updates_a_school(api):
    created = await api.create_school(name="Oak Academy", establishment_type="academy")
    assert created["version"] == 1
    response = await api.http.get(f"/v1/schools/{created['id']}", headers=api.admin())
    assert response.json() == created
    assert response.headers["etag"] == '"1"'

    patched = await api.http.patch(
        f"/v1/schools/{created['id']}",
        json={"name": "Oak Hill Academy"},
        headers={**api.admin(), "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Oak Hill Academy"
    assert patched.json()["version"] == 2
    assert patched.headers["etag"] == '"2"'


async def test_stale_if_match_is_412_and_changes_nothing(api):
    school = await api.create_school()
    await api.http.patch(f"/v1/schools/{school['id']}", json={"name": "A"}, headers=api.admin())
    stale = await api.http.patch(
        f"/v1/schools/{school['id']}",
        json={"name": "B"},
        headers={**api.admin(), "If-Match": '"1"'},
    )
    assert_problem(stale, 412, "stale_version")
    current = (await api.http.get(f"/v1/schools/{school['id']}", headers=api.admin())).json()
    assert current["name"] == "A"


async def test_only_platform_admin_creates_or_changes_schools(api):
    school = await api.create_school()
    senco = api.senco(school)
    assert_problem(
        await api.http.post("/v1/schools", json=school_body(), headers=senco), 403, "forbidden"
    )
    response = await api.http.patch(
        f"/v1/schools/{school['id']}", json={"name": "X"}, headers=senco
    )
    assert_problem(response, 403, "forbidden")


async def test_duplicate_urn_is_409(api):
    school = await api.create_school()
    response = await api.http.post(
        "/v1/schools", json=school_body(urn=school["urn"]), headers=api.admin()
    )
    assert_problem(response, 409, "conflict")


async def test_school_roles_see_only_their_school(api):
    mine = await api.create_school()
    other = await api.create_school()
    senco = api.senco(mine)
    listed = (await api.http.get("/v1/schools", headers=senco)).json()
    assert [s["id"] for s in listed["items"]] == [mine["id"]]
    assert_problem(
        await api.http.get(f"/v1/schools/{other['id']}", headers=senco), 404, "not_found"
    )
    missing = await api.http.get(f"/v1/schools/{uuid.uuid4()}", headers=senco)
    assert_problem(missing, 404, "not_found")


async def test_la_officer_sees_its_las_schools(api):
    inside = await api.create_school(la_code="330")
    await api.create_school(la_code="331")
    officer = api.headers("la_officer", la_code="330")
    listed = (await api.http.get("/v1/schools", headers=officer)).json()
    assert [s["id"] for s in listed["items"]] == [inside["id"]]


async def test_school_list_pages_with_a_cursor(api):
    urns = sorted([(await api.create_school())["urn"] for _ in range(5)])
    seen = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get("/v1/schools", params=params, headers=api.admin())).json()
        seen += [s["urn"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == urns


async def test_null_for_a_required_field_is_refused(api):
    school = await api.create_school()
    response = await api.http.patch(
        f"/v1/schools/{school['id']}", json={"name": None}, headers=api.admin()
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == [{"field": "name", "message": "May not be null"}]
