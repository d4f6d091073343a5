import pytest
from webroute import Response, Router


def make_router():
    router = Router()
    router.add("/users/{id:int}", lambda id: {"user": id}, name="user")
    router.add("/users/{id:int}/avatar", lambda id: f"avatar of {id}", name="avatar")
    router.add("/users", lambda: ["ann"], methods=("GET", "POST"))
    return router


def test_dispatch_to_handler():
    assert make_router().dispatch("get", "/users/5") == Response(200, {"user": 5})


def test_dispatch_nested_route():
    assert make_router().dispatch("GET", "/users/5/avatar") == Response(200, "avatar of 5")


def test_not_found():
    assert make_router().dispatch("GET", "/nope").status == 404


def test_method_not_allowed():
    response = make_router().dispatch("DELETE", "/users")
    assert response.status == 405
    assert response.headers == {"Allow": "GET, POST"}


def test_url_for():
    router = make_router()
    assert router.url_for("avatar", id=9) == "/users/9/avatar"
    with pytest.raises(KeyError):
        router.url_for("missing")


def test_duplicate_name():
    router = make_router()
    with pytest.raises(ValueError):
        router.add("/x", lambda: None, name="user")
