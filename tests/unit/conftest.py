import pytest

from .host_harness import Harness


@pytest.fixture
def lua(tmp_path):
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def talk_lua(tmp_path):
    h = Harness(tmp_path, talk=True)
    try:
        yield h
    finally:
        h.close()
