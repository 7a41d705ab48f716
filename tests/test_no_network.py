"""mlexport never opens a network connection.

Every command runs under ``strace -f``, which sees the connect() calls of the
whole process tree (JVMs and Go or Java scorer processes included). Unix
sockets and loopback (a runtime talking to its own child JVM) are allowed;
any other address fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlexport.exporters import EXPORTERS, get_exporter

pytestmark = pytest.mark.skipif(shutil.which("strace") is None and not os.environ.get("CI"), reason="strace not installed")

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn"
LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\.')


def _connects(args: list[str], tmp: Path) -> tuple[int, list[str], str]:
    log = tmp / "strace.log"
    exe = Path(sys.executable).parent / "mlexport"
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(log), str(exe), *args],
                          capture_output=True, text=True, timeout=600)
    calls = [ln for ln in log.read_text().splitlines() if "AF_INET" in ln]
    outside = [ln for ln in calls if not LOOPBACK.search(ln)]
    return proc.returncode, outside, proc.stdout + proc.stderr


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_export_check_parity_and_score_open_no_connection(fmt: str, tmp_path: Path) -> None:
    art = tmp_path / f"model{get_exporter(fmt).suffix}"
    steps = [
        ["check", str(CHURN / "model.joblib"), "--format", fmt],
        [fmt, str(CHURN / "model.joblib"), "--data", str(CHURN / "sample.csv"), "-o", str(art)],
        ["parity", str(CHURN / "model.joblib"), str(art), "--data", str(CHURN / "sample.csv")],
        ["score", str(art), str(CHURN / "sample.csv"), "-o", str(tmp_path / "p.csv")],
    ]
    for args in steps:
        code, outside, output = _connects(args, tmp_path)
        assert code == 0, f"{args[0]} failed: {output}"
        assert outside == [], f"mlexport {args[0]} ({fmt}) connected outside the machine: {outside[:3]}"


def test_the_tracer_sees_a_real_connection(tmp_path: Path) -> None:
    """The check above can fail: strace logs a connect() (here to a closed loopback
    port, never to another machine), and a non-loopback address is classified as outside."""
    log = tmp_path / "s.log"
    code = "import socket; s=socket.socket(); s.settimeout(0.2)\ntry: s.connect(('127.0.0.1', 9))\nexcept OSError: pass"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), sys.executable, "-c", code], timeout=60)
    seen = [ln for ln in log.read_text().splitlines() if "AF_INET" in ln]
    assert seen and all(LOOPBACK.search(ln) for ln in seen)
    outside = 'connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("203.0.113.7")}, 16) = -1'
    assert not LOOPBACK.search(outside)
