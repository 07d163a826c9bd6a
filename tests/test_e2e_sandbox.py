"""`python tests/sandbox.py --services` as a newcomer uses it: paste the
printed command to start the bot, log in with the printed admin password,
and the admin commands answer; an Enter in the sandbox is announced."""
from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

from botprocess import BotProcess, stored_revid, wait_until
from realservers import IrcPerson, IrcServer, MediaWikiServer, require

ROOT = Path(__file__).resolve().parent.parent
ZW = "\u200b"


def _printed_command(out: str) -> dict[str, str]:
    """The environment of the printed ``run_bot.py`` command, as a shell
    would read the pasted line."""
    block = out.split("Start the bot in another terminal:", 1)[1].split("and join", 1)[0]
    words = shlex.split(block.replace("\\\n", " "))
    assignments = words[words.index("&&") + 1:words.index("python")]
    return dict(w.split("=", 1) for w in assignments)


def _field(out: str, before: str) -> str:
    return out.split(before, 1)[1].split()[0].rstrip(",")


def test_services_sandbox_lets_the_printed_admin_use_admin_commands(tmp_path: Path) -> None:
    require("InspIRCd + Anope", IrcServer.available(services=True), "bash .ci/install")
    require("MediaWiki", MediaWikiServer.available(), "bash .ci/install")
    sandbox = subprocess.Popen([sys.executable, "-u", str(ROOT / "tests" / "sandbox.py"), "--services"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=str(tmp_path))
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(sandbox.stdout.readline, "")), daemon=True)
    reader.start()
    bot: BotProcess | None = None
    admin: IrcPerson | None = None
    try:
        wait_until(lambda: "Press Enter here" in "".join(printed) or sandbox.poll() is not None, 180,
                   "the sandbox to start", lambda: "".join(printed))
        out = "".join(printed)
        assert "Press Enter here" in out, out
        env = _printed_command(out)
        assert env["OTRSHELP_SASL_USER"] == "OTRSHelp" and env["OTRSHELP_ADMINS"] == "VRTAdmin"
        port = int(_field(out, "IRC:").split(":")[1])
        account, password = _field(out, "Admin: account"), _field(out, "password")
        env.pop("OTRSHELP_HOME")  # the test's own runtime directory, not ./var/sandbox
        admin = IrcPerson("127.0.0.1", port, account, sasl=(account, password))
        admin.join("#vrt-sandbox")
        joined = len(admin.events)
        bot = BotProcess(env, tmp_path / "var").start()
        admin.wait_for_event(lambda e: e.type == "join" and e.source.nick == "OTRSHelp", timeout=60,
                             since=joined)
        wait_until(lambda: stored_revid(tmp_path / "var") is not None, 60, "the bot's first read", bot.log)

        def private(mark: int) -> list[str]:
            return [t for _k, src, target, t in admin.messages[mark:] if src == "OTRSHelp" and target == account]

        mark = len(admin.messages)
        admin.say("OTRSHelp", "pending")
        wait_until(lambda: len(private(mark)) >= 3, 30, "the pending list", bot.log)
        assert private(mark)[0] == "2 open application(s), longest waiting first:", private(mark)
        # an Enter in the sandbox: Dave applies, the channel hears it, pending counts him
        sandbox.stdin.write("\n")
        sandbox.stdin.flush()
        wait_until(lambda: any(f"New VRT application by D{ZW}ave Newcomer" in t
                               for _k, src, target, t in admin.messages if target == "#vrt-sandbox"),
                   60, "the announcement of Dave's application", bot.log)
        mark = len(admin.messages)
        admin.say("OTRSHelp", "pending")
        wait_until(lambda: len(private(mark)) >= 4, 30, "pending again", bot.log)
        assert private(mark)[0] == "3 open application(s), longest waiting first:", private(mark)
    finally:
        if admin is not None:
            admin.close()
        if bot is not None:
            bot.kill(signal.SIGTERM)
        sandbox.send_signal(signal.SIGINT)  # the sandbox stops its servers itself
        try:
            sandbox.wait(timeout=90)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            sandbox.wait(timeout=30)
        if sandbox.stdin:
            sandbox.stdin.close()
        if sandbox.stdout:
            sandbox.stdout.close()

