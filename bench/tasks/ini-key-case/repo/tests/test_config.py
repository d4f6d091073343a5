import pytest
from settings import Config, ConfigError

TEXT = """
timeout = 30s
[database]
host = db.internal
port = 5432
url = postgres://${host}:${port}/app
[Cache]
enabled = yes
servers = a, b
"""


def test_typed_getters():
    config = Config.from_text(TEXT)
    assert config.get_int("database", "port") == 5432
    assert config.get_bool("cache", "enabled") is True
    assert config.get_list("cache", "servers") == ["a", "b"]
    assert config.get_seconds("database", "timeout") == 30


def test_interpolation():
    assert Config.from_text(TEXT).get("database", "url") == "postgres://db.internal:5432/app"


def test_lookups_ignore_case():
    config = Config.from_text(TEXT)
    assert config.get("Cache", "Enabled") == "yes"
    assert config.get_int("DATABASE", "Port") == 5432


def test_missing_key_and_section():
    config = Config.from_text(TEXT)
    with pytest.raises(ConfigError, match="no key 'user'"):
        config.get("database", "user")
    with pytest.raises(ConfigError, match=r"no section \[web\]"):
        config.get("web", "port")


def test_bad_value_is_config_error():
    with pytest.raises(ConfigError, match=r"\[database\] host"):
        Config.from_text(TEXT).get_int("database", "host")


def test_sections():
    assert Config.from_text(TEXT).sections() == ["database", "cache"]
