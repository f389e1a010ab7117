"""The TLS context of a Graph session, built on a thread while the rest of the SDK is imported.

Why: httpx builds its SSL context when a client is created, and loading the CA bundle into it
takes ~30 ms, which OpenSSL spends without holding the GIL. Started as soon as httpx is imported,
that work runs beside the import of kiota and msgraph-sdk (~150 ms of Python) instead of after
it: a twentieth of an incremental sync (issue 16). The context is exactly the one the client would
build, `httpx.create_ssl_context(trust_env=True)`, so SSL_CERT_FILE and SSL_CERT_DIR work as
they did; a failure there is left to httpx to raise and report, as it did.
"""

from __future__ import annotations

import ssl
import threading

import certifi  # noqa: F401  (httpx's default CA bundle: imported here, so the thread imports nothing)
import httpx


class TlsContext:
    """One context, its build started on creation; `result()` waits for it (True: let httpx
    build its own)."""

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        self._thread = threading.Thread(target=self._build, name="dupfix-tls", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            self._context = httpx.create_ssl_context(trust_env=True)
        except Exception:  # the client builds it again and raises, naming what is wrong
            self._context = None

    def result(self) -> ssl.SSLContext | bool:
        self._thread.join()
        return self._context if self._context is not None else True
