"""`pip install ./OTRSHelp` gives a Limnoria plugin: the wheel builds, holds
the knowledge base, and a bot with no checkout of this repository loads the
plugin by its entry point and answers from the packaged FAQ."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Run in the fresh venv with -I (no cwd, no PYTHONPATH): only the installed
# plugin can be found.
PROBE = r"""
import json, os
import supybot.scripts.limnoria_test  # a throw-away Limnoria registry
from supybot import conf, plugin
module = plugin.loadPluginModule("OTRSHelp")
from OTRSHelp.faq import KnowledgeBase
kb = KnowledgeBase.load()
match = kb.lookup("how do I apply to the VRT?")
print(json.dumps({
    "module": module.__file__,
    "plugin_class": module.Class.__name__,
    "registered": "OTRSHelp" in conf.supybot.plugins._children,
    "kb_origin": str(kb._origin),
    "topic": match.topic if match else None,
    "answer": match.answer if match else None,
}))
"""


@pytest.mark.slow
def test_the_wheel_installs_a_plugin_limnoria_loads_with_its_faq(tmp_path: Path) -> None:
    src = tmp_path / "src"  # pip builds in place: keep build/ out of the checkout
    shutil.copytree(ROOT / "OTRSHelp", src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
                    str(src), "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=120)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "OTRSHelp/data/faq.json" in names and "OTRSHelp/data/vocabulary.json" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "[limnoria.plugins]\nOTRSHelp = OTRSHelp" in zipfile.ZipFile(wheel).read(entry_points).decode()

    venv = tmp_path / "venv"
    # The system's site-packages give Limnoria and the other requirements
    # without a download; the plugin itself comes only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=120)
    run = subprocess.run([str(python), "-I", "-c", PROBE], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    site = str(venv / "lib")
    assert seen["module"].startswith(site), seen
    assert seen["plugin_class"] == "OTRSHelp" and seen["registered"]
    assert seen["kb_origin"].startswith(site) and seen["kb_origin"].endswith("faq.json"), seen
    assert seen["topic"] == "apply"
    assert "Volunteer_Response_Team/Volunteering" in seen["answer"]
