"""One TLS context per process for every outgoing HTTPS client (Bot API, webhooks).

httpx builds a new context for each client it makes, reading the whole CA bundle again
(~0.05 s of CPU each); a bot makes three clients when it starts. The context is the one httpx
would build itself: `SSL_CERT_FILE` or `SSL_CERT_DIR` when set, else certifi's bundle.
"""

from __future__ import annotations

import os
import ssl
from functools import cache

import certifi


@cache
def client_tls_context() -> ssl.SSLContext:
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())
