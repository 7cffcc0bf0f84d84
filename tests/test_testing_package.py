"""selfinstruct.testing: the stub's command line serves, and `import selfinstruct` leaves it out."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from selfinstruct.testing.openai_stub import spawn


def test_importing_selfinstruct_does_not_load_the_testing_package() -> None:
    code = "import sys, selfinstruct; print(sorted(m for m in sys.modules if '.testing' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_line_serves_each_endpoint_and_reports_on_sigterm() -> None:
    proc = spawn(["--count", "2", "--model", "m"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().strip() for _ in range(2)]
        assert len(set(urls)) == 2 and all(u.startswith("http://127.0.0.1:") for u in urls), urls
        for url in urls:
            with urllib.request.urlopen(f"{url}/models", timeout=30) as reply:
                assert json.load(reply)["data"][0]["id"] == "m"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err.count("requests=1 peak_in_flight=1") == 2, err
