"""jobs.yaml is what an operator loads on Toolforge: the jobs the README's
commands name exist, the bot runs continuously, the commands name files the
repository has, and no setting or secret lives in the file."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def jobs() -> dict[str, dict]:
    loaded = yaml.safe_load((ROOT / "jobs.yaml").read_text(encoding="utf-8"))
    return {job["name"]: job for job in loaded}


def test_the_readme_loads_jobs_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### On Toolforge"):readme.index("## Commands")]
    named = set(re.findall(r"toolforge jobs (?:load jobs\.yaml --job|logs|restart) (\w+)", section))
    assert named and named <= set(jobs())


def test_the_bot_runs_continuously_and_setup_once() -> None:
    j = jobs()
    assert j["bot"].get("continuous") is True
    assert not j["setup"].get("continuous") and "schedule" not in j["setup"]
    assert {job["image"] for job in j.values()} == {"python3.11"}


def test_commands_run_files_of_this_repository_from_the_clone() -> None:
    for job in jobs().values():
        (script,) = shlex.split(job["command"])[2:]  # bash -c '<script>'
        assert script.startswith('cd "$HOME/otrshelp" && ')
        for name in re.findall(r"[\w./-]+\.(?:py|txt)", script):
            assert (ROOT / name).is_file(), f"{job['name']} runs {name}, which the repository lacks"
    assert "run_bot.py" in jobs()["bot"]["command"]
    assert "-r requirements.txt" in jobs()["setup"]["command"]


def test_no_setting_or_secret_in_the_file() -> None:
    text = (ROOT / "jobs.yaml").read_text(encoding="utf-8")
    assert "OTRSHELP_" not in text
    assert all("env" not in job for job in jobs().values())
