"""Which credential signs Graph requests, and the token provider that hands its tokens to the SDK.

Choices (`DUPFIX_GRAPH_AUTH`, README "Live Entra ID"): `default` (azure-identity's
`DefaultAzureCredential`: `AZURE_*` variables, workload identity, managed identity, `az login`),
`token` (a ready bearer token in `DUPFIX_GRAPH_TOKEN`; the default when that variable is set),
`client-secret`, `certificate`, `github-oidc`, `workload-identity`, `azure-pipelines`,
`managed-identity`, `azure-cli`. An explicit choice exists because in CI a missing variable should
say "AZURE_CLIENT_SECRET is not set", not "DefaultAzureCredential failed" after trying six others.

Tokens are secrets: they live only inside `Secret`, whose repr and str never show them, and
`redact()` scrubs every known secret value and anything token-shaped from text we print.
azure-identity's synchronous credentials are used (its async ones need an extra HTTP stack); the
provider calls them in a worker thread, once per token lifetime, behind a lock, so concurrent
requests wait for one token fetch instead of starting many.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator

from ...errors import StateUnavailableError, UserInputError

AUTH_ENV = "DUPFIX_GRAPH_AUTH"
TOKEN_ENV = "DUPFIX_GRAPH_TOKEN"
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
REFRESH_MARGIN_S = 300  # fetch a new token this long before the old one expires

# Environment variables whose values are secrets: never printed, scrubbed from every message.
SECRET_ENV = (
    TOKEN_ENV,
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "AZURE_PASSWORD",
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")
_SECRET_PARAM = re.compile(
    r"(?i)\b(client_secret|client_assertion|assertion|access_token|refresh_token|id_token|code|sig|password)=[^&\s\"']+"
)


class Secret:
    """A string that never shows itself in repr, str or f-strings (tokens, client secrets)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """Remove tokens and secrets from text meant for people (logs, errors)."""
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "[redacted]")
    for value in extra:
        if value and len(value) >= 4:
            text = text.replace(value, "[redacted]")
    text = _BEARER.sub(r"\1 [redacted]", text)
    text = _JWT.sub("[redacted]", text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=[redacted]", text)


@dataclass(frozen=True)
class CredentialChoice:
    """The credential `dupfix` will use, described for `doctor` and error messages."""

    name: str  # the DUPFIX_GRAPH_AUTH value
    description: str
    make: Callable[[], Any]  # -> an azure-identity TokenCredential, or Secret for a ready token


CHOICES: dict[str, str] = {
    "default": "DefaultAzureCredential (AZURE_* variables, workload identity, managed identity, az login)",
    "token": f"a ready bearer token from {TOKEN_ENV}",
    "client-secret": "ClientSecretCredential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)",
    "certificate": "CertificateCredential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH)",
    "github-oidc": f"GitHub Actions OIDC via ClientAssertionCredential (audience {GITHUB_AUDIENCE})",
    "workload-identity": "WorkloadIdentityCredential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE)",
    "azure-pipelines": "AzurePipelinesCredential (service connection with workload identity federation)",
    "managed-identity": "ManagedIdentityCredential (AZURE_CLIENT_ID for a user-assigned identity)",
    "azure-cli": "AzureCliCredential (az login)",
}


def _need(env: Mapping[str, str], choice: str, *names: str) -> list[str]:
    values = [env.get(n, "").strip() for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise UserInputError(
            f"{AUTH_ENV}={choice} needs {', '.join(missing)}",
            field=AUTH_ENV,
            hint=f"set {' and '.join(missing)}, or pick another credential (README: Live Entra ID)",
        )
    return values


def _first(env: Mapping[str, str], *names: str) -> str:
    return next((env[n].strip() for n in names if env.get(n, "").strip()), "")


def github_assertion(env: Mapping[str, str] | None = None) -> Callable[[], str]:
    """A function returning a fresh GitHub Actions OIDC token for Entra's token exchange.

    GitHub gives the token only to a job with `permissions: id-token: write`; the runner sets
    ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. Fork pull requests get
    neither, so a live check there can only exit 3.
    """
    source = os.environ if env is None else env
    url, request_token = _need(
        source, "github-oidc", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
    )
    secret = Secret(request_token)

    def fetch() -> str:
        import httpx

        try:
            response = httpx.get(
                url,
                params={"audience": GITHUB_AUDIENCE},
                headers={"Authorization": f"Bearer {secret.reveal()}", "Accept": "application/json"},
                timeout=30,
            )
            value = response.json().get("value") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise StateUnavailableError(
                f"could not get the GitHub Actions OIDC token: {redact(str(exc), (request_token,))}"
            ) from None
        if not isinstance(value, str) or not value:
            raise StateUnavailableError(
                f"GitHub did not issue an OIDC token (HTTP {response.status_code})",
                hint="give the job `permissions: id-token: write`; fork pull requests never get one",
            )
        return value

    return fetch


def choose_credential(env: Mapping[str, str] | None = None) -> CredentialChoice:
    """The credential named by DUPFIX_GRAPH_AUTH (default: the token if DUPFIX_GRAPH_TOKEN is set)."""
    env = os.environ if env is None else env
    name = env.get(AUTH_ENV, "").strip().lower() or ("token" if env.get(TOKEN_ENV, "").strip() else "default")
    if name not in CHOICES:
        raise UserInputError(
            f"{AUTH_ENV}={name!r} is not a credential dupfix knows",
            field=AUTH_ENV,
            hint=f"one of {', '.join(CHOICES)}",
        )
    description = CHOICES[name]

    def make() -> Any:
        if name == "token":  # a ready token needs no azure-identity (~0.3 s to import)
            (token,) = _need(env, name, TOKEN_ENV)
            return Secret(token)

        import logging

        from azure import identity

        # azure-identity logs each failed credential of a chain as a multi-line warning; without a
        # handler Python prints it. The exit-3 message says it once, in our words (--debug: Graph log).
        logging.getLogger("azure").addHandler(logging.NullHandler())
        if name == "default":
            return identity.DefaultAzureCredential(exclude_interactive_browser_credential=True)
        if name == "client-secret":
            tenant, client, secret = _need(
                env, name, "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"
            )
            return identity.ClientSecretCredential(tenant, client, secret)
        if name == "certificate":
            tenant, client, path = _need(
                env, name, "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_CERTIFICATE_PATH"
            )
            password = env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None
            return identity.CertificateCredential(tenant, client, certificate_path=path, password=password)
        if name == "github-oidc":
            tenant, client = _need(env, name, "AZURE_TENANT_ID", "AZURE_CLIENT_ID")
            return identity.ClientAssertionCredential(tenant, client, github_assertion(env))
        if name == "workload-identity":
            tenant, client, path = _need(
                env, name, "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"
            )
            return identity.WorkloadIdentityCredential(
                tenant_id=tenant, client_id=client, token_file_path=path
            )
        if name == "azure-pipelines":
            # AzureCLI@2 exposes the service connection as AZURESUBSCRIPTION_*; AZURE_* also works.
            tenant = _first(env, "AZURESUBSCRIPTION_TENANT_ID", "AZURE_TENANT_ID")
            client = _first(env, "AZURESUBSCRIPTION_CLIENT_ID", "AZURE_CLIENT_ID")
            connection = _first(env, "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "AZURE_SERVICE_CONNECTION_ID")
            (access,) = _need(env, name, "SYSTEM_ACCESSTOKEN")
            missing = [n for n, v in (("AZURESUBSCRIPTION_TENANT_ID", tenant), ("AZURESUBSCRIPTION_CLIENT_ID", client),
                                      ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", connection)) if not v]  # fmt: skip
            if missing:
                _need(env, name, *missing)
            return identity.AzurePipelinesCredential(
                tenant_id=tenant,
                client_id=client,
                service_connection_id=connection,
                system_access_token=access,
            )
        if name == "managed-identity":
            managed_client: str | None = env.get("AZURE_CLIENT_ID") or None
            return identity.ManagedIdentityCredential(client_id=managed_client)
        return identity.AzureCliCredential()

    return CredentialChoice(name, description, make)


def scope_for(base_url: str) -> str:
    """`https://graph.microsoft.us/v1.0` -> `https://graph.microsoft.us/.default` (national clouds)."""
    parsed = urlparse(base_url)
    return f"{parsed.scheme}://{parsed.hostname}/.default"


@dataclass
class TokenInfo:
    expires_on: float | None
    credential: str  # the credential that answered (DefaultAzureCredential names its member)


class TokenProvider(AccessTokenProvider):
    """kiota's token hook over an azure-identity credential or a ready token, for one host only.

    Only the Graph endpoint's host gets the token: a nextLink pointing anywhere else would get
    none (and `graph.http` refuses to follow it anyway).
    """

    def __init__(self, choice: CredentialChoice, base_url: str):
        self.choice = choice
        self.scope = scope_for(base_url)
        self._validator = AllowedHostsValidator([(urlparse(base_url).hostname or "").lower()])
        self._credential: Any = None
        self._token: Secret | None = None
        self._expires_on: float | None = None
        self._lock = asyncio.Lock()
        self.info: TokenInfo | None = None

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._validator

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if not self._validator.is_url_host_valid(uri):
            return ""
        token = await self.token()
        return token.reveal()

    async def token(self) -> Secret:
        async with self._lock:
            fresh = self._token is not None and (
                self._expires_on is None or self._expires_on - time.time() > REFRESH_MARGIN_S
            )
            if not fresh:
                await asyncio.to_thread(self._fetch)
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        if self._credential is None:
            self._credential = self.choice.make()
        if isinstance(self._credential, Secret):
            self._token, self._expires_on = self._credential, None
            self.info = TokenInfo(None, "")
            return
        try:
            result = self._credential.get_token(self.scope)
        except StateUnavailableError:
            raise
        except Exception as exc:  # azure-identity raises several types; all mean "no token"
            first = redact(str(exc)).strip().splitlines()
            raise StateUnavailableError(
                f"could not get a Microsoft Graph token from {self.choice.description}: "
                f"{first[0] if first else type(exc).__name__}",
                hint="`dupfix doctor --source graph` shows what is missing; README: Live Entra ID",
            ) from None
        self._token, self._expires_on = Secret(result.token), float(result.expires_on)
        member = getattr(self._credential, "_successful_credential", None)
        answered = type(member).__name__ if member is not None else type(self._credential).__name__
        self.info = TokenInfo(self._expires_on, answered)

    def close(self) -> None:
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()
