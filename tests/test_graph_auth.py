"""Which credential signs Graph requests, and that secrets stay secret.

Credentials are built for real (azure-identity classes), but no test asks one for a token: that
would go to Entra ID. The GitHub OIDC step is exercised against the fake's Actions endpoint.
"""

from __future__ import annotations

import asyncio

import pytest
from azure import identity

from dupfix_policy.errors import UserInputError
from dupfix_policy.sources.graph.auth import (
    GITHUB_AUDIENCE,
    Secret,
    TokenProvider,
    choose_credential,
    github_assertion,
    redact,
    scope_for,
)

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

APP = {
    "AZURE_TENANT_ID": "contoso.onmicrosoft.com",
    "AZURE_CLIENT_ID": "5b1e0c7a-0000-4000-8000-000000000001",
}


def test_without_settings_the_default_azure_credential_chain_is_used():
    choice = choose_credential({})
    assert choice.name == "default"
    assert isinstance(choice.make(), identity.DefaultAzureCredential)


def test_a_ready_token_in_the_environment_is_used_as_it_is():
    choice = choose_credential({"DUPFIX_GRAPH_TOKEN": "abc123"})
    assert choice.name == "token"
    assert choice.make().reveal() == "abc123"


@pytest.mark.parametrize(
    ("name", "env", "cls"),
    [
        ("client-secret", {**APP, "AZURE_CLIENT_SECRET": "s3cret-value"}, identity.ClientSecretCredential),
        ("workload-identity", {**APP, "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"},
         identity.WorkloadIdentityCredential),
        ("github-oidc", {**APP, "ACTIONS_ID_TOKEN_REQUEST_URL": "https://actions.example/token",
                         "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req"}, identity.ClientAssertionCredential),
        ("azure-pipelines", {"AZURESUBSCRIPTION_TENANT_ID": "t", "AZURESUBSCRIPTION_CLIENT_ID": "c",
                             "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "sc", "SYSTEM_ACCESSTOKEN": "x",
                             "SYSTEM_OIDCREQUESTURI": "https://dev.azure.example/oidc"},
         identity.AzurePipelinesCredential),
        ("managed-identity", {}, identity.ManagedIdentityCredential),
        ("azure-cli", {}, identity.AzureCliCredential),
    ],
)  # fmt: skip
def test_each_named_credential_is_built_from_its_variables(name, env, cls, monkeypatch):
    for key, value in env.items():  # some azure-identity constructors read os.environ themselves
        monkeypatch.setenv(key, value)
    assert isinstance(choose_credential({"DUPFIX_GRAPH_AUTH": name, **env}).make(), cls)


def test_a_named_credential_says_which_variable_is_missing():
    choice = choose_credential({"DUPFIX_GRAPH_AUTH": "certificate", **APP})
    with pytest.raises(UserInputError, match="AZURE_CLIENT_CERTIFICATE_PATH"):
        choice.make()


def test_an_unknown_credential_name_lists_the_known_ones():
    with pytest.raises(UserInputError, match="github-oidc"):
        choose_credential({"DUPFIX_GRAPH_AUTH": "kerberos"})


def test_the_github_oidc_assertion_is_fetched_for_the_entra_audience(graph):
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{graph.port}/_actions/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": graph.github_request_token,
    }
    assert github_assertion(env)() == graph.github_oidc_token  # the fake answers only for GITHUB_AUDIENCE
    assert GITHUB_AUDIENCE == "api://AzureADTokenExchange"


def test_a_secret_never_shows_itself():
    secret = Secret("hunter2-token")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"


def test_redact_removes_tokens_secrets_and_known_secret_values(monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "client-secret-value-42")
    text = redact(
        "Authorization: Bearer abc.def.ghi; token eyJhbGciOi.eyJzdWIiOi.c2ln; "
        "client_secret=xyz&scope=a; failed with client-secret-value-42"
    )
    assert text == (
        "Authorization: Bearer [redacted]; token [redacted]; client_secret=[redacted]&scope=a; failed with [redacted]"
    )


def test_the_scope_follows_the_endpoint_for_national_clouds():
    assert scope_for("https://graph.microsoft.us/v1.0") == "https://graph.microsoft.us/.default"
    assert (
        scope_for("https://microsoftgraph.chinacloudapi.cn/v1.0")
        == "https://microsoftgraph.chinacloudapi.cn/.default"
    )


def test_only_the_graph_endpoint_gets_the_token():
    provider = TokenProvider(
        choose_credential({"DUPFIX_GRAPH_TOKEN": "tok-123"}), "https://graph.microsoft.com/v1.0"
    )

    async def tokens() -> tuple[str, str]:
        return (
            await provider.get_authorization_token("https://graph.microsoft.com/v1.0/users"),
            await provider.get_authorization_token("https://elsewhere.example/v1.0/users"),
        )

    assert asyncio.run(tokens()) == ("tok-123", "")
