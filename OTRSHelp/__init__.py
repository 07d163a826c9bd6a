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

    from importlib import import_module

    # "reload OTRSHelp" must pick up the domain modules too, not only the
    # glue: forget every submodule, then import the glue afresh (which
    # imports the domain modules it needs afresh).
    for _name in [n for n in sys.modules if n.startswith(__name__ + ".")]:
        del sys.modules[_name]
    config = import_module(__name__ + ".config")
    plugin = import_module(__name__ + ".plugin")

    Class = plugin.Class
    configure = config.configure
