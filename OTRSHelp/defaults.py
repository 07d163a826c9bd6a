"""The defaults of the settings that both the bot's registry (config.py) and
the command line (``run_bot.py scan``) need, kept in one place. Everything
else has its default only in config.py."""

WIKI_API = "https://meta.wikimedia.org/w/api.php"
PAGE = "OTRS/Volunteering"
# Off: the adaptive poll sees an edit in about 2 s for ~20 MB a day; the
# stream gains about a second for 3-4 GB a day (README, "What it costs").
EVENTSTREAM = ""
WIKIMEDIA_EVENTSTREAM = "https://stream.wikimedia.org/v2/stream/recentchange"
POLL_SECONDS = 60
