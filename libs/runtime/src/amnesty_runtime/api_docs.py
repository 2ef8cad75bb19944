"""A service's API documentation: its OpenAPI document, and Swagger UI served from local files.

The page loads its script and styles from the `fastapi-offline` wheel's copy of the swagger-ui
distribution, under /docs/assets: the docs work on a machine with no way out. No ReDoc page: its bundle
fetches a logo from the Redocly CDN, so a reader's browser would call out every time.

The OpenAPI document gets what FastAPI cannot infer: the Problem schema of every error answer, 400/422
problems in place of FastAPI's own validation error (which these services never answer), and the
``$defs`` of a JSON Schema that a route gives as is (intake's submissions) moved into its components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from amnesty_runtime.problems import Problem, problem_openapi

ASSETS_PATH: Final = "/docs/assets"
_ASSETS_PACKAGE: Final = ("fastapi_offline", "static")
_COMPONENTS: Final = "#/components/schemas/"
_FASTAPI_VALIDATION_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")


def serve_docs(app: FastAPI) -> None:
    """GET /docs (Swagger UI) and its assets, all from this service."""
    app.mount(ASSETS_PATH, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # No badge asking validator.swagger.io about the document: nothing leaves the machine.
            swagger_ui_parameters={"validatorUrl": None},
        )


def document_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's `openapi()`, built once, with the additions described above."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            _add_components(
                schemas, Problem.model_json_schema(ref_template=_COMPONENTS + "{model}"), "Problem"
            )
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    _complete(operation, schemas)
            for name in _FASTAPI_VALIDATION_SCHEMAS:
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _complete(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    body = operation.get("requestBody", {})
    for media in body.get("content", {}).values():
        if "schema" in media:
            media["schema"] = _hoist_defs(media["schema"], schemas)
    # FastAPI documents a 422 where it validates something; answered as a problem instead: a 400 for a
    # parameter, a 422 for a body it parses (a body a route reads itself is never FastAPI's 422).
    if responses.pop("422", None) is not None:
        if operation.get("parameters"):
            responses.setdefault("400", problem_openapi("A parameter is invalid: the problem names it."))
        if body:
            responses.setdefault("422", problem_openapi("The body is invalid: the problem names the field."))
    responses.setdefault("500", problem_openapi("The service failed; the problem says nothing more."))


def _add_components(schemas: dict[str, Any], schema: dict[str, Any], name: str) -> None:
    schemas[name] = _hoist_defs(schema, schemas)


def _hoist_defs(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` moved to the components and its `#/$defs/` references pointing there."""
    defs: dict[str, Any] = schema.get("$defs", {})
    for name, definition in defs.items():
        rewritten = _rewrite_refs(definition)
        if schemas.get(name, rewritten) != rewritten:
            raise ValueError(f"two different schemas are both called {name} in the OpenAPI document")
        schemas[name] = rewritten
    rewritten_schema: dict[str, Any] = _rewrite_refs({k: v for k, v in schema.items() if k != "$defs"})
    return rewritten_schema


def _rewrite_refs(node: Any) -> Any:
    # Every string, not only `$ref`: a discriminator's mapping points at its schemas too.
    if isinstance(node, dict):
        return {key: _rewrite_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    if isinstance(node, str) and node.startswith("#/$defs/"):
        return _COMPONENTS + node.removeprefix("#/$defs/")
    return node
