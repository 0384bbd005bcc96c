"""Bearer-token check for the mutating REST calls.

The token lives in ``api.token_file``. If the file does not exist the sidecar makes one (a random
token, mode 0600, its folder 0700 if new) and logs where, so a fresh appliance is never open and
the operator knows where to look. The comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request, status

log = logging.getLogger("failover.api.auth")


class TokenError(RuntimeError):
    """The token file cannot be read or made; the message says which and why."""


def load_or_create(path: str | Path) -> str:
    path = Path(path)
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # O_EXCL: never overwrite a token another process created meanwhile.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create(path)
        except OSError as e:
            raise TokenError(f"api.token_file: cannot create {path}: {e.strerror}") from None
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        log.warning("created a new API token in %s (mode 0600)", path)
        return token
    except OSError as e:
        raise TokenError(f"api.token_file: cannot read {path}: {e.strerror}") from None
    if not token:
        raise TokenError(f"api.token_file: {path} is empty")
    return token


class BearerToken:
    """FastAPI dependency: 401 unless ``Authorization: Bearer <token>`` matches."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong bearer token (see api.token_file)",
                headers={"WWW-Authenticate": "Bearer"},
            )
