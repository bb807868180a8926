"""The manifest format: one document per back end, the single source of truth for tools.

A manifest is derived from an OpenAPI document plus an overlay (see ``build.py``) and committed, so
start-up reads a small JSON file instead of parsing OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOOL_NAME_PATTERN = r"^[a-z0-9_]{1,64}$"
AREA_PATTERN = r"^[a-z0-9]+\.[a-z0-9_]+$"
JsonSchema = dict[str, Any]
# Arguments ops-mcp adds on top of an endpoint's upstream parameters; they never go upstream.
FIELDS_ARG = "fields"
MAX_ITEMS_ARG = "max_items"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseUrls(_Model):
    production: str
    sandbox: str


class PagePagination(_Model):
    style: Literal["page"]
    page_param: str = "page"
    size_param: str = "page_size"
    max_limit: int = 100
    current_page_field: str = "current_page"
    total_pages_field: str = "total_pages"
    total_count_field: str = "total_count"


class CursorPagination(_Model):
    style: Literal["cursor"]
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    max_limit: int = 100
    has_more_field: str = "has_more"
    next_cursor_field: str = "next_cursor"


Pagination = Annotated[PagePagination | CursorPagination, Field(discriminator="style")]


class Envelope(_Model):
    data_key: str | None = "data"


class ErrorProfile(_Model):
    # "remote": {"message": ...} or {"errors": {field: [msg]}}; "problem+json": RFC 9457.
    shape: Literal["remote", "problem+json"]
    # Error codes meaning "an earlier request with this Idempotency-Key is still running": wait, then repeat.
    in_progress_codes: list[str] = []
    # Codes of a 404 that means "exists, but not ready yet" (e.g. a call transcript): try again later.
    not_ready_codes: list[str] = []


class RateLimitProfile(_Model):
    scope: Literal["company", "key"]
    per_minute: int = Field(gt=0)
    window: Literal["fixed", "sliding"]
    headers: dict[str, str]
    reset_unit: Literal["milliseconds", "seconds", "epoch_seconds"]


class WebhookRegistration(_Model):
    """How the back end's own API registers a receiver: a catalogue tool and its fixed arguments."""

    tool: str = Field(pattern=TOOL_NAME_PATTERN)
    arguments: dict[str, Any] = {}
    url_argument: str = "url"
    # Where the answer carries the signing secret (the first present wins).
    secret_fields: list[str] = ["signing_key", "secret"]


class WebhookProfile(_Model):
    scheme: Literal["remote-hmac", "standard-webhooks"]
    signature_header: str | None = None
    timestamp_header: str | None = None
    tolerance_seconds: int = 300
    registration: WebhookRegistration | None = None
    # Event object types whose area is not "<backend>.<type>s", e.g. {"credit_note": "invoices"}.
    type_areas: dict[str, str] = {}


class FormsProfile(_Model):
    """Where a back end serves the JSON-Schema forms that some request bodies must follow."""

    schema_path: str  # e.g. /v1/countries/{country}/{form}
    countries_path: str  # lists countries with their supported forms
    # The object whose country decides the form when the call names it, not the country.
    subject_path: str  # e.g. /v1/employments/{id}
    subject_query: dict[str, str] = {}
    # Where things sit in those bodies (after the envelope's data key): the subject object's key, the
    # dotted fields tried in turn for its country, the key of the countries list, the fields of a country
    # row matched against a country code, the row's list of forms, and the key a form's schema may sit under.
    subject_key: str | None = None
    subject_country_fields: list[str] = ["country"]
    countries_key: str | None = None
    country_code_fields: list[str] = ["code"]
    supported_forms_field: str = "forms"
    schema_key: str | None = None


class SandboxProfile(_Model):
    """The embedded emulator of this back end, if ops-mcp ships one."""

    mount: str  # path prefix under the in-process sandbox host
    default_tenant: str


class BackendProfile(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    title: str
    base_urls: BaseUrls
    auth: list[Literal["bearer", "oauth2_client_credentials"]]
    token_prefixes: dict[Literal["live", "test"], str]
    envelope: Envelope = Envelope()
    pagination: Pagination
    errors: ErrorProfile
    rate_limit: RateLimitProfile
    webhooks: WebhookProfile | None = None
    request_id_headers: list[str] = ["request-id", "x-request-id"]
    forms: FormsProfile | None = None
    sandbox: SandboxProfile | None = None
    # One line for the server's instructions to agents, e.g. "Remote (HR)".
    description: str = ""


class Area(_Model):
    title: str
    description: str = ""


class FormRule(_Model):
    """A request-body property that follows a Remote country JSON-Schema form."""

    body_key: str
    form: str | None = None  # None with body_key "*": every body key that names a form
    country_arg: str | None = None
    country_of_employment: str | None = None
    query: dict[str, str] = {}


class Parameters(_Model):
    path: JsonSchema = Field(default_factory=lambda: {"type": "object", "properties": {}})
    query: JsonSchema = Field(default_factory=lambda: {"type": "object", "properties": {}})
    body: JsonSchema | None = None
    body_encoding: Literal["json", "multipart"] | None = None
    # Body properties that became top-level tool arguments; the rest of the body is ``body``.
    body_flattened: bool = True


class ResponseSpec(_Model):
    status: int = 200
    content_type: str = "application/json"
    # Keys unwrapped from the upstream body, e.g. ["data"] or ["data", "employment"].
    unwrap: list[str] = []
    # Compact schema of the unwrapped result (object root); binary responses describe the file.
    schema_: JsonSchema = Field(alias="schema")
    list_key: str | None = None  # for lists: where the items are after unwrapping

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Endpoint(_Model):
    tool: str = Field(pattern=TOOL_NAME_PATTERN)
    operation_id: str
    area: str = Field(pattern=AREA_PATTERN)
    access: Literal["read", "write"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    title: str
    summary: str
    parameters: Parameters
    response: ResponseSpec
    destructive: bool = False
    idempotent: bool = False
    idempotency_key: Literal["none", "optional", "required"] = "none"
    paginated: bool = False
    events: list[str] = []
    forms: list[FormRule] = []
    # Which kind of upstream token the operation needs (OpenAPI `x-token-kind`): "company" = a token
    # bound to one company (customer API token, or a partner authorization-code/refresh token);
    # "client_credentials" = a partner client-credentials token; "any" = either. None: the back end
    # has a single kind of token (RemoteOps).
    token_kind: Literal["company", "client_credentials", "any"] | None = None

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must start with '/'")
        return value


class Manifest(_Model):
    format_version: Literal[1] = 1
    source: str = Field(description="The OpenAPI document this manifest was built from.")
    backend: BackendProfile
    areas: dict[str, Area]
    endpoints: list[Endpoint]

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        prefix = f"{self.backend.name}_"
        seen: set[str] = set()
        for endpoint in self.endpoints:
            if not endpoint.tool.startswith(prefix):
                raise ValueError(f"tool {endpoint.tool!r} must start with {prefix!r}")
            if endpoint.tool in seen:
                raise ValueError(f"duplicate tool name {endpoint.tool!r}")
            seen.add(endpoint.tool)
            if endpoint.area not in self.areas:
                raise ValueError(f"tool {endpoint.tool!r} uses undeclared area {endpoint.area!r}")
            if endpoint.forms and self.backend.forms is None:
                raise ValueError(f"tool {endpoint.tool!r} has form rules but the profile has no 'forms' section")
        for area in self.areas:
            if not area.startswith(f"{self.backend.name}."):
                raise ValueError(f"area {area!r} must start with {self.backend.name!r}.")
        return self

    def endpoint(self, tool: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.tool == tool), None)
