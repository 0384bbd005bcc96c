"""Shared key files: the router's and the agents' HMAC keys (gateway control, STAMP auth)."""

from __future__ import annotations

from pathlib import Path

MIN_KEY_BYTES = 16


def read_key_file(path: str, what: str) -> bytes:
    """The file's bytes without surrounding whitespace, or ValueError naming ``what``.

    Both ends read keys this way, so a key written with a trailing newline matches one without.
    """
    try:
        key = Path(path).read_bytes().strip()
    except OSError as e:
        raise ValueError(f"{what}: cannot read {path}: {e.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{what}: {path} holds {len(key)} bytes, at least {MIN_KEY_BYTES} needed")
    return key
