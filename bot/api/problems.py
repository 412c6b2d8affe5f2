"""Errors as RFC 9457 problem details (`application/problem+json`), naming the field.

A field a storage parser refused says why in the words the chat uses for it (the catalogs'
`parse.*` texts, in the language of `Accept-Language`: English or Chinese), with the
catalog key as `code`, so a program can branch on it and a person can read it.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from handlers.i18n import Catalogs
from storage.access import NotAllowed, NotFound
from storage.parsing import ParseError

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
_TAG = re.compile(r"<[^>]+>")


class FieldProblem(BaseModel):
    field: str
    detail: str
    code: str | None = None


class ProblemDetails(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = []


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.body = ProblemDetails(title=title, status=status, detail=detail, errors=errors or [])
        self.headers = headers or {}


class FieldRefused(Exception):
    """A value a storage parser refused: the field's name and the parser's error."""

    def __init__(self, field: str, error: ParseError | str) -> None:
        super().__init__(field)
        self.field = field
        self.error = error


def not_found() -> Problem:
    """Missing, deleted and not the caller's are answered alike (storage/access.py)."""
    return Problem(404, "Not Found", "No such record.")


def conflict(detail: str, field: str | None = None) -> Problem:
    errors = [FieldProblem(field=field, detail=detail)] if field else None
    return Problem(409, "Conflict", detail, errors=errors)


def unprocessable(field: str, detail: str, code: str | None = None) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        f"{field}: {detail}",
        errors=[FieldProblem(field=field, detail=detail, code=code)],
    )


def respond(problem: Problem) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(problem.body),
        status_code=problem.body.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


def install(app: FastAPI, catalogs: Catalogs) -> None:
    """Every error the app can meet, answered as a problem."""

    def language(request: Request) -> str:
        return (
            "zh" if request.headers.get("accept-language", "").lower().startswith("zh") else "en"
        )

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return respond(exc)

    async def on_field(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FieldRefused)
        if isinstance(exc.error, str):
            return respond(unprocessable(exc.field, exc.error))
        text = catalogs.translator(language(request))(exc.error.key, **exc.error.params)
        detail = html.unescape(_TAG.sub("", text))
        return respond(unprocessable(exc.field, detail, exc.error.key))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldProblem(field=_field_name(item["loc"]), detail=item["msg"], code=item["type"])
            for item in exc.errors()
        ]
        detail = "; ".join(f"{e.field}: {e.detail}" for e in errors)
        return respond(Problem(422, "Unprocessable Content", detail, errors=errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(sorted(_allowed(request)))
        return respond(Problem(exc.status_code, title, str(exc.detail), headers=headers))

    async def on_not_found(_request: Request, _exc: Exception) -> JSONResponse:
        return respond(not_found())

    async def on_not_allowed(_request: Request, _exc: Exception) -> JSONResponse:
        return respond(Problem(403, "Forbidden", "The token's member may not do this."))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(FieldRefused, on_field)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(NotFound, on_not_found)
    app.add_exception_handler(NotAllowed, on_not_allowed)


def _allowed(request: Request) -> set[str]:
    """Every method some route of this path takes (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "phones", 1) -> "phones[1]"; ("query", "limit") -> "limit"."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an operation's problems, so clients and schemathesis know
    each status and its body. 422 and 400 (a body that is not JSON) are always among them."""
    return {
        status: {"model": ProblemDetails, "content": {MEDIA_TYPE: {}}, "description": "Problem"}
        for status in sorted({*statuses, 400, 422})
    }


def document_problems(app: FastAPI) -> None:
    """Problems are served as application/problem+json: say so in the OpenAPI document
    (FastAPI files a response model under application/json)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if MEDIA_TYPE in content and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
