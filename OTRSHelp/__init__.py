###
# Copyright (c) 2026, OTRSHelp developers
# All rights reserved.
###

"""
OTRSHelp: answers questions about joining Wikimedia's Volunteer Response Team
(VRT, formerly OTRS) and announces applications on Meta-Wiki's volunteering
page.

The domain modules (parser, tracker, store, wikiclient, faq, ...) know nothing
of Limnoria; the Limnoria glue is loaded only when Limnoria itself is running
(or testing), so ``run_bot.py scan`` and the benchmarks import the domain code
without starting half a bot.
"""

import sys

__version__ = "0.1.0"
__url__ = "https://meta.wikimedia.org/wiki/Volunteer_Response_Team"

if "supybot.callbacks" in sys.modules:
    import supybot

    __author__ = supybot.Author("OTRSHelp developers", "OTRSHelp", "")
    __contributors__ = {}

    from importlib import reload

    from . import config
    from . import plugin

    reload(config)
    reload(plugin)

    Class = plugin.Class
    configure = config.configure
