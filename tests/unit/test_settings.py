"""Production settings: a secret key of at least 32 bytes, required in production."""

from __future__ import annotations

import pytest

from zizhu.domain import settings

PROD_KEY = "p" * 40
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.parametrize("key", ["x", "short-key-0123456789"])
def test_short_secret_key_is_refused(monkeypatch, key):
    monkeypatch.setenv("ZIZHU_SECRET_KEY", key)
    with pytest.raises(settings.SettingsInvalid, match="ZIZHU_SECRET_KEY"):
        settings.load()


def test_production_requires_a_key(monkeypatch):
    monkeypatch.setenv("ZIZHU_ENV", "production")
    monkeypatch.delenv("ZIZHU_SECRET_KEY")
    with pytest.raises(settings.SettingsInvalid, match="ZIZHU_SECRET_KEY"):
        settings.load()
