async def test_health(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_school_and_pupil_round_trip(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    response = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    assert response.status_code == 200, response.text
    assert response.json()["sen_status"] == "N"
    assert response.headers["etag"] == '"1"'
