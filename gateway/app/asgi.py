"""The gateway as an ASGI application: its routes, each through the one audited frame.

`create_app(frame, proxy, *routers, on_close=...)` builds the stack in one place:
OperationOutcome handlers for every failure (`gateway.outcomes`), the given routers (the
authorization server's `/auth/*` and `/.well-known/smart-configuration`, built with
`around=in_frame(frame)`, the auditors' `/audit/...`) and `/fhir/...`, every method of which
is served by the FHIR proxy inside the audited frame. Whatever no route serves — another
path (`//fhir/...`, `/FHIR/...`), a method a route does not take (HEAD, OPTIONS, TRACE, ...)
— is answered last, in the same frame: 401 without a valid token, else 404 for a path no
route has and 405 for a method its route does not take. So every request is recorded once.
The caller (`gateway.app.assembly`) builds the parts and owns their resources; `on_close`
releases them when the server shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from auth.server import Around, Handled
from gateway.access.seam import Effect
from gateway.app.frame import AuditedFrame
from gateway.errors import MethodNotAllowed, NotFound
from gateway.outcomes import install_handlers
from gateway.proxy.call import fhir_path_of
from gateway.proxy.dispatch import FhirProxy, is_public
from gateway.served import Attempt, Responded, Served

__all__ = ["create_app", "in_frame"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def in_frame(frame: AuditedFrame) -> Around:
    """The authorization server's endpoints (public) in `frame`: each request recorded, a
    refusal with the client id it claimed and why, an issued token with the client it was
    issued to, for whom and its id (`auth.server`)."""

    async def around(request: Request, endpoint: str, handle: Callable[[], Awaitable[Handled]]) -> Response:
        async def serve(attempt: Attempt) -> Responded:
            handled = await handle()
            attempt.anonymous = handled.refusal or handled.caller or ""
            return Responded(handled.response, effect=Effect.DENY if handled.refusal else Effect.PERMIT)

        return await frame(request, serve, Attempt(interaction=f"oauth-{endpoint}"), public=True)

    return around


def create_app(
    frame: AuditedFrame,
    proxy: FhirProxy,
    *routers: APIRouter,
    on_close: Callable[[], Awaitable[None]] | None = None,
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

    async def fhir_path(request: Request, path: str) -> Response:
        async def serve(attempt: Attempt) -> Served:  # the path as sent, not as decoded by the router
            return await proxy.serve(request, fhir_path_of(request.scope.get("raw_path")), attempt)

        return await frame(request, serve, Attempt(), public=is_public(request.method, path))

    async def fhir_base(request: Request) -> Response:
        return await fhir_path(request, "")

    async def fhir(request: Request, path: str) -> Response:
        return await fhir_path(request, path)

    app.add_api_route("/fhir", fhir_base, methods=_METHODS)
    app.add_api_route("/fhir/{path:path}", fhir, methods=_METHODS)
    routes = list(app.router.routes)

    async def unrouted(request: Request) -> Response:
        async def serve(attempt: Attempt) -> Served:
            if any(_matches(route, request) is Match.PARTIAL for route in routes):
                raise MethodNotAllowed(f"{request.method[:20]} is not allowed on this path")
            raise NotFound("no such endpoint")

        return await frame(request, serve, Attempt())

    app.router.routes.append(Route("/{anything:path}", _EveryMethod(unrouted)))
    return app


@dataclass(frozen=True)
class _EveryMethod:
    """An endpoint as an ASGI application: Starlette routes a plain function only for GET and
    HEAD, an application for every method."""

    endpoint: Callable[[Request], Awaitable[Response]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def _matches(route: BaseRoute, request: Request) -> Match:
    return route.matches(request.scope)[0]
