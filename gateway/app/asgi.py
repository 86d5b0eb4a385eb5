"""The gateway application: the authorization server's endpoints and the FHIR request path.

`create_app(pipeline, *routers)` builds the stack in one place: OperationOutcome handlers
for every failure, the given routers (the auth endpoints `/auth/*` and
`/.well-known/smart-configuration`, the auditors' `/audit/...`) and `/fhir/...`, every
method of which goes through `Pipeline.handle`. The caller builds the
pipeline (and owns its HTTP clients; `on_close` can release them at shutdown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from gateway.outcomes import install_handlers
from gateway.proxy.dispatch import Pipeline

__all__ = ["create_app"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(
    pipeline: Pipeline, *routers: APIRouter, on_close: Callable[[], Awaitable[None]] | None = None
) -> FastAPI:
    """The gateway as an ASGI application with `routers` (auth, audit) beside `/fhir`;
    `on_close` runs when the server shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if on_close is not None:
            await on_close()

    app = FastAPI(title="Yhteys gateway", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    install_handlers(app)
    for router in routers:
        app.include_router(router)

    async def fhir_base(request: Request) -> Response:
        return await pipeline.handle(request, "")

    async def fhir(request: Request, path: str) -> Response:
        return await pipeline.handle(request, path)

    app.add_api_route("/fhir", fhir_base, methods=_METHODS)
    app.add_api_route("/fhir/{path:path}", fhir, methods=_METHODS)
    return app
