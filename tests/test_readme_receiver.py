"""The README's webhook receiver runs as printed: it accepts a signed event once (a repeat is
answered but not printed again) and refuses a forged one with 400."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks import Webhook

from storage.webhooks import new_secret
from tests.e2e.helpers import free_port

README = Path(__file__).parents[1] / "README.md"


def receiver_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (code,) = [block for block in blocks if "HTTPServer" in block]
    return code


def post(port: int, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def post_when_up(port: int, body: bytes, headers: dict[str, str]) -> int:
    for _ in range(100):  # the process starts in well under a second
        try:
            return post(port, body, headers)
        except urllib.error.URLError:
            time.sleep(0.05)
    raise AssertionError("the receiver did not start")


def test_readme_receiver_verifies_and_drops_repeats(tmp_path: Path) -> None:
    script = tmp_path / "receiver.py"
    script.write_text(receiver_code(), encoding="utf-8")
    secret, port = new_secret(), free_port()
    body = json.dumps({"id": "evt_7", "type": "deal.won", "data": {"id": 7}}).encode()
    now = datetime.now(UTC)
    signed = {
        "webhook-id": "evt_7",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("evt_7", now, body),
    }
    process = subprocess.Popen(
        [sys.executable, str(script), secret, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert post_when_up(port, body, signed) == 204
        assert post(port, body, signed) == 204  # a repeat: answered, not printed again
        forged = {**signed, "webhook-signature": Webhook(new_secret()).sign("evt_7", now, body)}
        assert post(port, body, forged) == 400
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=5)
    assert output.splitlines() == ["deal.won 7"]
