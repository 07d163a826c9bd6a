"""The account rule: an account is what the server says on this message."""
from __future__ import annotations

from OTRSHelp.access import PUBLIC_COMMANDS, Roster, account_key, denied_capabilities, sender_of


def test_with_account_tag_the_tag_alone_decides() -> None:
    caps = {"account-tag", "extended-join"}
    assert sender_of({"account": "VRTAdmin"}, caps).account == "VRTAdmin"
    no_tag = sender_of({}, caps)
    assert no_tag.known and not no_tag.logged_in
    assert not sender_of({"account": "*"}, caps).logged_in
    assert not sender_of(None, caps).logged_in


def test_without_account_tag_nobody_is_known() -> None:
    # account-notify and extended-join only feed a cache that a quit outdates
    s = sender_of({"account": "VRTAdmin"}, {"account-notify", "extended-join"})
    assert not s.known and s.account is None


def test_accounts_compare_as_services_compare_them() -> None:
    assert account_key("VRT[Admin]") == account_key("vrt{admin}")
    assert account_key("Krd") == account_key("KRD")
    assert account_key("José") != account_key("Jose")


def test_roster_is_read_at_each_check() -> None:
    stored = ["Helper"]
    roster = Roster(["Krd"], stored=lambda: stored)
    assert roster.is_admin("krd") and roster.is_admin("HELPER")
    assert not roster.is_admin(None) and not roster.is_admin("") and not roster.is_admin("Mallory")
    stored.clear()  # removed from IRC: no longer an admin, at once
    assert not roster.is_admin("Helper")
    assert roster.is_configured("KRD") and not roster.is_configured("Helper")


def test_every_loaded_command_off_the_public_list_is_denied() -> None:
    loaded = {
        "otrshelp": ["faq", "status", "secretnew"],
        "misc": ["help", "list", "version", "tell"],
        "config": ["config", "list"],
        "someplugin": ["anything"],
    }
    denied = denied_capabilities(loaded)
    assert denied == {"-otrshelp.secretnew", "-misc.version", "-misc.tell", "-config", "-someplugin"}
    assert "help" in PUBLIC_COMMANDS["misc"]
