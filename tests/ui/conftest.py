"""Fixtures for the server and chat tests: a fake chain and an app around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.config import Settings
from tests.ui.fake_chain import FakeChain

ALLOWED = "https://help.example.com"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", allowed_origins=[ALLOWED], max_question_chars=200)


@pytest.fixture
def fake_chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
def app(settings: Settings, fake_chain: FakeChain) -> FastAPI:
    from ui.server import create_app

    return create_app(settings, fake_chain)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
