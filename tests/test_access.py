"""Keys and roles, sessions, and the browser-side defences (docs/security.md): what a
server on a network must refuse, tried through the real HTTP app."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from test_cli import run  # noqa: F401 (a fixture)

from service.api.app import create_app

NOTE = ("note.txt", "Кандас — этнический казах, вернувшийся на родину.".encode(), "text/plain")


def add(client, headers=None, text: str = "one"):
    file = (f"{text}.txt", f"{NOTE[1].decode()} {text}".encode(), "text/plain")
    return client.post("/documents", files={"file": file}, headers=headers or {})


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def new_key(client, role: str, name: str | None = None) -> str:
    return client.app.state.koshqon.access.add(name or role, role)


def test_writes_need_a_librarians_key_once_the_first_key_exists(client):
    assert add(client, text="before").status_code == 201  # an open collection
    reader, librarian = new_key(client, "reader"), new_key(client, "librarian")
    refused = add(client, text="anonymous")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert add(client, bearer(reader), "reader").status_code == 403
    assert add(client, bearer("kq_made-up"), "made-up").status_code == 401
    assert add(client, bearer(librarian), "librarian").status_code == 201
    document_id = client.get("/documents").json()["documents"][0]["id"]
    for method in ("patch", "delete"):
        kwargs = {"json": {"year": 2020}} if method == "patch" else {}
        call = getattr(client, method)
        assert call(f"/documents/{document_id}", **kwargs).status_code == 401
        assert (
            call(f"/documents/{document_id}", headers=bearer(reader), **kwargs).status_code == 403
        )
    assert client.get("/search", params={"q": "кандас"}).status_code == 200  # reading stays open
    files = [d["filename"] for d in client.get("/documents").json()["documents"]]
    assert files == ["before.txt", "librarian.txt"]


def test_keys_are_managed_by_an_admin_and_revoked_at_once(client):
    first = client.post("/keys", json={"name": "me", "role": "admin"})
    assert first.status_code == 403  # not over HTTP in an open collection: nobody is admin
    admin, librarian = new_key(client, "admin"), new_key(client, "librarian")
    request = {"name": "aigerim", "role": "librarian"}
    assert client.post("/keys", json=request, headers=bearer(librarian)).status_code == 403
    created = client.post("/keys", json=request, headers=bearer(admin))
    assert created.status_code == 201
    key = created.json()["key"]
    assert add(client, bearer(key)).status_code == 201
    listed = client.get("/keys", headers=bearer(admin)).json()["keys"]
    assert [k["name"] for k in listed] == ["admin", "aigerim", "librarian"]
    assert key not in str(listed) and "digest" not in str(listed)
    assert client.delete("/keys/aigerim", headers=bearer(admin)).status_code == 204
    assert add(client, bearer(key), "after").status_code == 401
    assert client.delete("/keys/aigerim", headers=bearer(admin)).status_code == 404


def test_a_private_collection_needs_a_key_to_read(settings):
    with TestClient(create_app(settings.model_copy(update={"private": True}))) as client:
        assert client.get("/search", params={"q": "кандас"}).status_code == 401
        page = client.get("/", params={"q": "кандас"}, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/signin?next=/")
        reader = new_key(client, "reader")
        found = client.get("/search", params={"q": "кандас"}, headers=bearer(reader))
        assert found.status_code == 200
        assert add(client, bearer(reader)).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},  # fetch(..., {mode: "no-cors"}) from another site
        {"Origin": "null"},  # a sandboxed frame
        {"Sec-Fetch-Site": "cross-site"},  # an auto-submitted form
    ],
)
def test_writes_from_another_site_are_refused_even_in_an_open_collection(client, headers):
    refused = add(client, headers)
    assert refused.status_code == 403
    assert "another site" in refused.json()["detail"]
    assert client.get("/documents").json()["total"] == 0
    assert add(client, {"Origin": "http://testserver"}).status_code == 201  # the page itself


def test_other_host_names_are_refused(client):
    """DNS rebinding: a hostile name pointed at 127.0.0.1 reaches the port, not the app."""
    assert client.get("/health", headers={"Host": "rebind.evil.example"}).status_code == 400
    assert client.get("/health").status_code == 200


def test_pages_cannot_be_framed_or_sniffed(client):
    for path in ("/", "/health", "/library"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_the_web_page_signs_in_with_a_key_and_keeps_an_http_only_session(client):
    key = new_key(client, "librarian", "aigerim")
    page = client.get("/library", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/signin?next=/library")
    wrong = client.post("/signin", data={"key": "kq_wrong", "next": "/library"})
    assert wrong.status_code == 401
    signed = client.post(
        "/signin", data={"key": key, "next": "//evil.example/"}, follow_redirects=False
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/")  # no open redirect
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and key not in cookie
    assert "aigerim" in client.get("/library").text
    assert add(client, {"Origin": "http://testserver"}).status_code == 201
    client.post("/signout", headers={"Origin": "http://testserver"})
    assert add(client, {"Origin": "http://testserver"}, "after").status_code == 401


def test_keys_from_the_command_line(run):  # noqa: F811
    refused = run("serve", "--host", "0.0.0.0")
    assert refused.returncode == 1
    assert "koshqon keys add --role admin" in refused.stderr
    made = run("keys", "add", "--role", "admin", "--name", "aigerim")
    assert made.returncode == 0 and made.stdout.startswith("kq_")
    listed = run("keys", "list")
    assert listed.stdout.startswith("aigerim\tadmin\t") and made.stdout.strip() not in listed.stdout
    assert run("keys", "add", "--role", "admin", "--name", "aigerim").returncode == 1
    assert run("keys", "revoke", "aigerim").returncode == 0
    assert "no key named aigerim" in run("keys", "revoke", "aigerim").stderr


def logged(caplog) -> list[dict]:
    import json

    return [json.loads(r.message) for r in caplog.records if r.name == "koshqon.access"]


def test_the_access_log_keeps_what_readers_search_for_private(client, settings, caplog):
    caplog.set_level("INFO", logger="koshqon.access")
    response = client.get(
        "/search", params={"q": "паспорт кандаса"}, headers={"X-Request-ID": "r-1"}
    )
    (entry,) = logged(caplog)
    assert entry["request_id"] == response.headers["x-request-id"] == "r-1"
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", "/search", 200)
    assert entry["ms"] > 0 and "query" not in entry
    assert "паспорт" not in caplog.text and "%D0%BF" not in caplog.text.upper()
    client.get("/documents/12345")
    assert logged(caplog)[-1]["route"] == "/documents/{document_id}"  # not the id asked for
    caplog.clear()
    telling = settings.model_copy(update={"log_queries": True})
    with TestClient(create_app(telling)) as other:
        other.get("/search", params={"q": "паспорт"})
    assert logged(caplog)[-1]["query"] == "q=паспорт"


@pytest.mark.slow
def test_an_upload_without_a_key_is_refused_before_its_body_is_read(settings):
    """A real server: 600 MB sent to /jobs without a key is answered 401 after the first
    few MB, not once the form is parsed (FastAPI's own checks run after parsing)."""
    from test_hostile import chunks
    from test_server import server

    from index.catalog import Catalog
    from index.store import CATALOG_FILE
    from service.access import Access

    Access(Catalog(settings.data_dir / CATALOG_FILE)).add("admin", "admin")
    sent = 0

    def body():
        nonlocal sent
        for chunk in chunks(600 << 20, "files"):
            sent += len(chunk)
            yield chunk

    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    with server(settings) as client:
        try:
            response = client.post("/jobs", content=body(), headers=headers)
            assert response.status_code == 401, response.text
        except httpx.TransportError:  # closed on us mid-body: refused before it was read
            pass
        assert sent < 100 << 20, locals().get("response")
        assert not any((settings.data_dir / "queue").glob("*/*"))


def test_failed_keys_are_throttled_per_address_and_valid_ones_are_not(settings):
    """After a burst of 10 failed keys, an address gets 429 with Retry-After for anything it
    sends with a key until its allowance refills (here slowly: one every 2 s; by default 10
    a second); another address with a valid key, and reading without one, go on as
    before; the address may try again once the allowance is back."""
    import time

    from service.api.limits import Throttle

    app = create_app(settings)
    with TestClient(app, client=("10.0.0.66", 40000)) as guesser:
        app.state.throttle = Throttle(per_second=0.5, burst=10)
        librarian = new_key(guesser, "librarian")
        answers = [
            guesser.get("/keys", headers=bearer(f"kq_guess-{n}")).status_code for n in range(30)
        ]
        assert answers == [401] * 10 + [429] * 20, answers
        throttled = add(guesser, bearer(librarian), "while-throttled")
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
        assert throttled.json()["title"] == "Too many failed attempts"
        assert guesser.get("/search", params={"q": "кандас"}).status_code == 200
        signin = guesser.post("/signin", data={"key": "kq_guess-x"}, follow_redirects=False)
        assert signin.status_code == 429
        colleague = TestClient(app, client=("10.0.0.7", 40000))  # the same running app
        assert add(colleague, bearer(librarian), "colleague").status_code == 201
        time.sleep(2.1)
        assert add(guesser, bearer(librarian), "later").status_code == 201
