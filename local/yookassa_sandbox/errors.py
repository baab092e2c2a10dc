"""YooKassa's error body: ``{"type": "error", "id", "code", "description", "parameter"}``."""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["ApiError", "error_body", "invalid_request", "not_found"]


def error_body(code: str, description: str, parameter: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return body


class ApiError(Exception):
    """Raised anywhere in request handling; the server turns it into YooKassa's error response."""

    def __init__(self, status: int, code: str, description: str, parameter: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.parameter = parameter

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.description, self.parameter)


def invalid_request(description: str, parameter: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request", description, parameter)


def not_found(description: str = "Object not found or access denied") -> ApiError:
    return ApiError(404, "not_found", description)
