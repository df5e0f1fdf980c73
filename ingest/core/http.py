"""How every domain app answers a refused command: one status code per kind of error, the reason in ``detail``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ingest.core.errors import Conflict, DomainError, Forbidden, InvalidCommand, NotFound

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidCommand: 422}


def error_status(error: DomainError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def refused(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error_status(error))

    @app.exception_handler(ValidationError)
    async def invalid(_: Request, error: ValidationError) -> JSONResponse:
        detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)
