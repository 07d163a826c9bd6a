"""Wikitext as MediaWiki reads it: what is visible, what is struck, which
template is called with which parameters, and what text a reader sees.

Kept apart from the parser because none of this knows about applications,
votes or signatures; it is the part that knows wikitext (and
mwparserfromhell), and both ``parser`` and ``signatures`` build on it.

Most inline markup on the page is flat (``{{support}}``, ``[[User:X|X]]``),
so small regular expressions read it exactly and in microseconds. A
template inside a template (``{{unsigned|X|{{date}}}}``,
``{{small|{{ping|X}}}}``) or a link in its parameters is split by one scan
that skips the nested parts. Where that cannot be exact -- a struck span
inside a struck span, quotes that pair up only once a template is gone --
the piece of text goes to mwparserfromhell, which knows which ``</s>``
belongs to what. Only small pieces do (``tree_safe``): its tokenizer takes
time growing with the square of a hostile piece, and every scan here is
linear in its input, so that no page can stall the poller.
"""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:  # imported when first needed: it costs a tenth of a second
    from mwparserfromhell.nodes import Tag, Template
    from mwparserfromhell.wikicode import Wikicode

from .textcache import text_lru

__all__ = [
    "CLOSE_TAG",
    "Call",
    "FILE_LINK",
    "LINK",
    "MENTION_TEMPLATES",
    "PING_TEMPLATES",
    "TAG",
    "TL_TEMPLATES",
    "WRAPPER_TEMPLATES",
    "calls",
    "cut",
    "plain_text",
    "render",
    "template_call",
    "template_end",
    "template_spans",
    "visible_wikitext",
    "without_struck",
]

# ---------------------------------------------------------------------------
# Vocabulary: templates and tags that change what readers see
# ---------------------------------------------------------------------------

# Templates that notify someone: rendered as ``@Name`` in excerpts.
PING_TEMPLATES = {"ping", "reply to", "replyto", "re", "yo", "reply",
                  "rto", "re:", "replyto2", "mention", "pinging", "ping2"}
# Templates that merely name a user: rendered as the name in excerpts.
MENTION_TEMPLATES = {"u", "user", "noping", "no ping", "user2", "userlinks",
                     "ul", "user-multi", "vandal", "user link"}
# Templates that show another template's name: ``{{tl|support}}`` talks
# about the support template, it is not a vote.
TL_TEMPLATES = {"tl", "tlx", "tls", "tlc", "tlf", "tlp", "tlg", "tnull",
                "template link", "tl2"}
# Templates that only format their text (``{{small|{{ping|X}} ...}}``,
# ``{{color|green|'''Support'''}}``): they show their last positional
# parameter, so excerpts and marks look inside them.
WRAPPER_TEMPLATES = {"small", "smaller", "big", "larger", "nowrap", "tq", "tqi",
                     "talk quote", "talkquote", "xt", "!xt", "color", "colour",
                     "font color", "fontcolor", "resize"}
_STRIKE_TAGS = ("s", "del", "strike")
# Tags whose contents MediaWiki does not render as wikitext (or that only
# quote markup): votes and signatures inside them never count.
_HIDDEN_TAGS = ("pre", "nowiki", "source", "syntaxhighlight", "code",
                "math", "ref", "templatedata", "score", "graph", "timeline",
                "hiero", "chem", "ce")
_BREAK_TAGS = {"br", "p", "div", "li", "dd", "dt", "hr", "tr", "td", "th"}

LINK = re.compile(r"\[\[([^\[\]|]+)(?:\|([^\[\]]*))?\]\]")
FILE_LINK = re.compile(r"^\s*(?:file|image|datei|bild|fichier|bestand|archivo|imagen|"
                       r"category|kategorie|catégorie|categorie|categoría)\s*:", re.I)
# An opening, closing or self-closing HTML tag: (slash, name).
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?/?>")
CLOSE_TAG: dict[str, re.Pattern[str]] = {
    name: re.compile(r"</" + name + r"\s*>", re.IGNORECASE)
    for name in _HIDDEN_TAGS + _STRIKE_TAGS + ("b", "strong")
}

# Tests set this to send every piece of text through mwparserfromhell, to
# check that the regular-expression fast paths give the same results.
_ALWAYS_TREE = False

# ---------------------------------------------------------------------------
# Visible text
# ---------------------------------------------------------------------------

_HIDDEN_OPEN = re.compile(
    r"<!--|<(" + "|".join(_HIDDEN_TAGS) + r")\b[^<>]*?(/?)>", re.IGNORECASE)
_INERT = str.maketrans({**{ch: f"&#{ord(ch)};" for ch in "{}[]<>'~=|*#:;()-"}, "\n": " "})
_LINE_OPENING = re.compile(r"[\s*#:;]*")


def visible_wikitext(text: str) -> str:
    """The page without HTML comments and non-wikitext tags (``<pre>``,
    ``<source>``, ...), whose contents never count as headings, votes or
    signatures; ``<nowiki>`` text stays as inert text (see ``_inert``).

    A single left-to-right scan, so ``<!-- <pre> -->`` and
    ``<pre><!-- --></pre>`` both read as MediaWiki reads them. An unclosed
    comment hides the rest of the page (as on the wiki); an unclosed tag is
    literal text. Each tag name's closing tag is searched for at most once
    after it was found missing, so a page full of unclosed tags stays linear.
    This runs on the whole page before it is cut into sections, because a
    comment or ``<pre>`` may hide a heading; it is a plain scan rather than
    mwparserfromhell because MediaWiki, too, strips these before it parses
    anything else, and because tokenizing the page would cost a second.
    """
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    while True:
        m = _HIDDEN_OPEN.search(text, pos)
        if not m:
            break
        out.append(text[pos:m.start()])
        if m.group(0) == "<!--":
            end = text.find("-->", m.end())
            pos = len(text) if end < 0 else end + 3
            continue
        name = m.group(1).lower()
        if m.group(2):  # self-closing: <nowiki/>, <ref name="x" />
            pos = m.end()
            continue
        close = None if name in unclosed else CLOSE_TAG[name].search(text, m.end())
        if close is None:
            unclosed.add(name)
            out.append(m.group(0))
            pos = m.end()
            continue
        if name == "nowiki" and not _LINE_OPENING.fullmatch(
                text, text.rfind("\n", 0, m.start()) + 1, m.start()):
            out.append(_inert(text[m.end():close.start()]))
        pos = close.end()
    out.append(text[pos:])
    return "".join(out)


def _inert(text: str) -> str:
    """``<nowiki>`` text inside a sentence as readers see it, with every
    character that could be read as markup written as an HTML entity:
    ``Please use <nowiki>{{support}}</nowiki> here`` keeps its words in the
    excerpt, but no template, link, bold vote, list prefix, line break or
    "(UTC)" of a signature is left for the parser to find in it. Entities
    are decoded with the rest of the text when it is rendered, as MediaWiki
    decodes them in nowiki. Nowiki text that opens a line is a quoted
    example (``<nowiki>*{{oppose}} ~~~~</nowiki>``) and is dropped, so it
    never becomes a contribution of its own."""
    return text.translate(_INERT)


# ---------------------------------------------------------------------------
# Templates and their parameters
# ---------------------------------------------------------------------------

_TEMPLATE_SIMPLE = re.compile(r"\{\{([^{}]*)\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


# Pieces of text that mwparserfromhell may read. Its tokenizer retries
# from every unclosed construct, so its time grows with the square of a
# hostile piece ("{{a|" 4,000 times: 26 s); real pieces needing it (a strike
# inside a strike) are a few hundred characters. Longer ones, or ones with
# more markup than a person types, are read by the linear scans instead.
TREE_LIMIT = 2000
_TREE_MARKUP_CHARS = 160
_MARKUP_CHARS = re.compile(r"[\[\]{}<>|']")


def tree_safe(text: str) -> bool:
    """Whether *text* is small and plain enough for mwparserfromhell."""
    return len(text) <= TREE_LIMIT and len(_MARKUP_CHARS.findall(text)) <= _TREE_MARKUP_CHARS


def _mw():
    """mwparserfromhell, imported on first use: ``scan`` of an ordinary page
    never needs it, and importing it costs more than the parse."""
    import mwparserfromhell
    import mwparserfromhell.nodes
    return mwparserfromhell


@text_lru(maxsize=512, maxchars=100_000)  # trees: 40-110 B a char, so at most ~11 MiB
def _tree(text: str) -> Wikicode:
    """mwparserfromhell's tree of a piece of a contribution, cached because
    one contribution's pieces are looked at several times. Never modified:
    whoever needs to change a tree parses their own copy."""
    return _mw().parse(text)


class Call(NamedTuple):
    """A template call: normalised name, positional parameters and the rest.

    ``1=``, ``2=`` count as the positions they name, as in MediaWiki
    (``{{reply to|1=X}}`` pings X); a later value for a position wins.
    Values are wikitext, stripped.
    """

    name: str
    args: tuple[str, ...]
    named: tuple[tuple[str, str], ...]


def _template_name(raw: str) -> str:
    name = " ".join(raw.replace("_", " ").split()).lower()
    for prefix in ("template:", "subst:", "safesubst:", "msg:"):
        if name.startswith(prefix):
            name = name[len(prefix):].strip()
    return name


def _make_call(name: str, params: list[tuple[str | None, str]]) -> Call:
    numbered: dict[int, str] = {}
    named: list[tuple[str, str]] = []
    position = 0
    for key, value in params:
        if key is None:
            position += 1
            numbered[position] = value.strip()
        elif key.isdigit():
            numbered[int(key)] = value.strip()
        else:
            named.append((key, value.strip()))
    return Call(_template_name(name), tuple(numbered[k] for k in sorted(numbered)), tuple(named))


@text_lru(maxsize=4096, maxchars=500_000)
def template_call(inner: str) -> Call:
    """The template call ``{{inner}}``.

    Without a nested template or link in *inner*, splitting at ``|`` and
    the first ``=`` is exactly how MediaWiki reads it, and costs
    microseconds. With one (``{{ping|{{u|A}}|[[User:B|B]]}}``), the pipes
    and ``=`` inside the nested parts are not separators: ``_split_top``
    skips over them in one scan (tests check it against mwparserfromhell).
    """
    if _ALWAYS_TREE:
        code = _tree("{{" + inner + "}}")
        if len(code.nodes) == 1 and _is(code.nodes[0], "Template"):
            return _call_of(code.nodes[0])
    # a vandal's template of megabytes is split flat: inexact, but linear
    nested = ("{{" in inner or "[[" in inner) and len(inner) <= 20 * TREE_LIMIT
    parts = _split_top(inner, "|") if nested else inner.split("|")
    params: list[tuple[str | None, str]] = []
    for part in parts[1:] if parts[1:] != [""] else ():
        eq = _split_top(part, "=", 1) if nested else part.split("=", 1)
        params.append((eq[0].strip(), eq[1]) if len(eq) == 2 else (None, part))
    return _make_call(parts[0], params)


_NESTING = re.compile(r"\{\{|\}\}|\[\[|\]\]|[|=]")


def _split_top(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """*text* split at *sep* where it stands outside nested templates and
    links (a closing bracket of the other kind closes nothing)."""
    out: list[str] = []
    stack: list[str] = []
    last = 0
    for m in _NESTING.finditer(text):
        tok = m.group()
        if tok == "{{" or tok == "[[":
            stack.append(tok)
        elif tok == "}}" or tok == "]]":
            if stack and stack[-1] == ("{{" if tok == "}}" else "[["):
                stack.pop()
        elif tok == sep and not stack:
            out.append(text[last:m.start()])
            last = m.end()
            if len(out) == maxsplit:
                break
    out.append(text[last:])
    return out


def _is(node: object, kind: str) -> bool:
    return isinstance(node, getattr(_mw().nodes, kind))


def _call_of(node: Template) -> Call:
    return _make_call(str(node.name), [
        (str(p.name).strip() if p.showkey else None, str(p.value)) for p in node.params])


def template_spans(text: str, max_depth: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every balanced ``{{...}}`` in *text*, nested ones
    included (to *max_depth* levels inside the outermost), in page order.
    Braces that never close are text, as in MediaWiki (``{{support without
    its braces``)."""
    stack: list[int] = []
    spans: list[tuple[int, int]] = []
    for m in _BRACES.finditer(text):
        if m.group() == "{{":
            stack.append(m.start())
        elif stack:
            start = stack.pop()
            if max_depth is None or len(stack) <= max_depth:
                spans.append((start, m.end()))
    spans.sort()
    return spans


# How deep ``calls`` looks into templates: a ping inside {{small}} inside
# {{color}} is as deep as people nest; a page of templates nested thousands
# deep would otherwise cost the square of its size.
CALL_DEPTH = 4


def calls(text: str) -> list[Call]:
    """Every template call in *text*, nested ones included (to
    ``CALL_DEPTH``), in page order."""
    if "{{" not in text:
        return []
    return [template_call(text[start + 2:end - 2])
            for start, end in template_spans(text, CALL_DEPTH)]


def template_end(s: str, pos: int) -> int:
    """Index just after the template opening at *pos*, or -1 if it is never
    closed (within a few thousand characters)."""
    depth = 0
    for m in _BRACES.finditer(s, pos, min(len(s), pos + 4000)):
        if m.group() == "{{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    return -1


# ---------------------------------------------------------------------------
# Wikitext to readable text
# ---------------------------------------------------------------------------

# Linear: the address and the title stop at the next bracket (possessively),
# so a text of "[http://" repeated, or of titles never closed, is scanned
# once rather than once from every "[". Links inside a title are rendered
# before this runs, so no "[" is left in a real title.
_EXTLINK = re.compile(r"\[(?:https?:|ftp:)?//[^\s\[\]]++(?:\s++([^\[\]]*+))?\]", re.IGNORECASE)
_TL_OPEN, _TL_CLOSE = "\ue000", "\ue001"  # protect {{tl|x}} output from re-rendering


def _render_call(call: Call, arg: Callable[[str], str], tl_open: str = "{{",
                 tl_close: str = "}}") -> str:
    """What a template shows in an excerpt; *arg* renders a parameter."""
    name, args = call.name, call.args
    if name in PING_TEMPLATES:
        shown = [arg(a) for a in args if a]
        return "@" + ", @".join(shown) if shown else ""
    if name in MENTION_TEMPLATES:
        return ", ".join(arg(a) for a in args if a)
    if name in TL_TEMPLATES and args:
        return tl_open + args[0] + tl_close
    if name in WRAPPER_TEMPLATES and args:
        return arg(args[-1])
    if name == "@":
        return "@"
    if name == "!":
        return "|"
    return ""  # vote marks, icons, unsigned, anything else: no readable text


def _render_template(m: re.Match[str]) -> str:
    return _render_call(template_call(m.group(1)), str, _TL_OPEN, _TL_CLOSE)


def _render_template_node(node: Template, tl_open: str = "{{", tl_close: str = "}}") -> str:
    """``_render_call`` for a template in a tree, rendering its parameters
    from the tree rather than parsing their text again."""
    call = _call_of(node)
    trees = {str(p.value).strip(): p.value for p in node.params}
    return _render_call(call, lambda a: _render_nodes(trees[a]) if a in trees else _render_arg(a),
                        tl_open, tl_close)


def _link_text(target: str, display: str | None) -> str:
    if FILE_LINK.match(target):
        return ""
    if display is None:
        return target.strip().lstrip(":").strip()
    if not display.strip():  # the pipe trick: [[User:Example|]] shows "Example"
        shown = target.strip().rsplit(":", 1)[-1]
        return re.sub(r"\s*\([^()]*\)\s*$", "", shown).strip()
    return display


def _render_link(m: re.Match[str]) -> str:
    return _link_text(m.group(1), m.group(2))


def _needs_tree(s: str) -> bool:
    """Whether the templates in *s* are beyond the flat-template regex: one
    inside another, a link in one, braces left unbalanced or around text
    that cannot be a template's name."""
    if _ALWAYS_TREE:
        return True
    for inner in _TEMPLATE_SIMPLE.findall(s):
        if "[" in inner or "<" in inner.partition("|")[0]:
            return True  # a link in it, or a name no template can have: {{a [http://x]}} is text
    return "{{" in _TEMPLATE_SIMPLE.sub("", s)


def render(text: str) -> str:
    """Wikitext as readers see it, minus what does not matter in an excerpt:
    templates (pings become ``@Name``, formatting templates their text),
    links as their text, tags, bold and italics, entities.

    Flat templates are replaced by one regular-expression pass; a template
    with templates or links inside is read by mwparserfromhell (only that
    template: tokenizing is the expensive part, and prose around it is
    flat). ``_render_tree`` renders a whole text from the tree; tests check
    that it agrees with this."""
    s = text
    if "{{" in s:
        if _ALWAYS_TREE:
            return _render_tree(s)
        if _needs_tree(s):
            s = _render_nested_templates(s)
        else:
            s = _TEMPLATE_SIMPLE.sub(_render_template, s)
        if _TL_OPEN in s:
            s = s.replace(_TL_OPEN, "{{").replace(_TL_CLOSE, "}}")
    if "[[" in s:
        for _ in range(3):
            new = LINK.sub(_render_link, s)
            if new == s or "[[" not in new:
                s = new
                break
            s = new
    if "[" in s:
        s = _EXTLINK.sub(lambda m: m.group(1) or "", s)
    if "<" in s:
        s = TAG.sub(_tag_gap, s)
    if "''''" in s and tree_safe(text):
        # ''a''{{x}}''b'' is ''a''''b'' once the template went: which quotes
        # pair up is a parse, and the tree's answer is MediaWiki's
        return _render_tree(text)
    return _finish(s)


def _tag_gap(m: re.Match[str]) -> str:
    return " " if m.group(2).lower() in _BREAK_TAGS else ""


def _finish(s: str) -> str:
    if "''" in s:
        s = s.replace("'''", "").replace("''", "")
    if "&" in s:
        s = html.unescape(s)
    return s


_RENDER_DEPTH = 6  # templates nested deeper than people nest them show nothing


def _render_nested_templates(s: str, depth: int = 0) -> str:
    """*s* with each outermost balanced template replaced by what it shows;
    its parameters are split by ``template_call`` and rendered the same way,
    one level down. Braces around what cannot be a template's name
    (``{{a [[b]]}}``) are text, with what is inside them shown."""
    out: list[str] = []
    pos = 0
    for start, end in template_spans(s, 0):
        out.append(s[pos:start])
        inner = s[start + 2:end - 2]
        if depth < _RENDER_DEPTH:
            name = _split_top(inner, "|", 1)[0] if "[[" in inner or "{{" in inner else inner.partition("|")[0]
            if "[" in name or "]" in name or "<" in name or ">" in name or not name.strip():
                out.append("{{" + _render_part(inner, depth + 1) + "}}")
            else:
                out.append(_render_call(template_call(inner), lambda a: _render_part(a, depth + 1),
                                        _TL_OPEN, _TL_CLOSE))
        pos = end
    out.append(s[pos:])
    return "".join(out)


def _render_part(text: str, depth: int) -> str:
    """A template's parameter as readers see it, before the rest of
    ``render`` (links, tags, quotes) runs over the whole result."""
    if "{{" not in text:
        return text
    if _needs_tree(text):
        return _render_nested_templates(text, depth)
    return _TEMPLATE_SIMPLE.sub(_render_template, text)


def _render_tree(text: str) -> str:
    """``render`` by walking mwparserfromhell's tree: like its
    ``strip_code``, but pings and formatting templates keep their text and
    ``{{tl|x}}`` shows ``{{x}}``, as the flat path does."""
    return _finish(_render_nodes(_tree(text)))


def _render_arg(value: str) -> str:
    return _render_nodes(_tree(value)) if value else ""


def _render_nodes(code: Wikicode) -> str:
    out: list[str] = []
    for node in code.nodes:
        if _is(node, "Text"):
            value = node.value  # a tag left unclosed is text to the tree, markup to readers
            out.append(TAG.sub(_tag_gap, value) if "<" in value else value)
        elif _is(node, "Template"):
            out.append(_render_template_node(node))
        elif _is(node, "Wikilink"):
            display = None if node.text is None else str(node.text)
            if display is not None and display.strip() and not FILE_LINK.match(str(node.title)):
                out.append(_render_nodes(node.text))
            else:
                out.append(_link_text(str(node.title), display))
        elif _is(node, "ExternalLink"):
            if not node.brackets:
                out.append(str(node.url))
            elif node.title is not None:
                out.append(_render_nodes(node.title))
        elif _is(node, "Tag"):
            out.append(_render_tag(node))
        elif _is(node, "HTMLEntity"):
            out.append(str(node))  # decoded once, with the rest, by _finish
        elif _is(node, "Heading"):
            out.append(_render_nodes(node.title))
        elif _is(node, "Argument"):
            continue
        elif not _is(node, "Comment"):
            out.append(str(node))
    return "".join(out)


def _render_tag(node: Tag) -> str:
    name = str(node.tag).strip().lower()
    inner = _render_nodes(node.contents) if node.contents is not None else ""
    if node.wiki_markup:
        if name in ("b", "i"):
            return inner  # ''' and '' around text
        if node.self_closing:
            return node.wiki_markup  # list prefixes and rules, as the flat path keeps them
        return node.wiki_markup + inner + (node.closing_wiki_markup or "")
    gap = " " if name in _BREAK_TAGS else ""
    if node.self_closing:
        return gap
    return gap + inner + gap


# ---------------------------------------------------------------------------
# Plain-text excerpts
# ---------------------------------------------------------------------------

_LINE_LIST_PREFIX = re.compile(r"(?m)^[ \t]*[*#:;]+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def plain_text(wikitext: str, limit: int | None = 200) -> str:
    """Readable text for excerpts: markup gone, whitespace collapsed, no
    control characters or bidi overrides (which reorder what people see)."""
    text = render(wikitext)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    text = _LINE_LIST_PREFIX.sub(" ", text)
    text = " ".join(text.split()).strip(" -—–~")
    return cut(text, limit) if limit is not None else text


def cut(text: str, limit: int) -> str:
    """At most *limit* characters, an ellipsis marking a cut."""
    if len(text) > limit:
        return text[: limit - 1].rstrip() + "\u2026"
    return text


# ---------------------------------------------------------------------------
# Struck text
# ---------------------------------------------------------------------------

_STRIKE_OPEN = re.compile(r"<(s|del|strike)(?:\s[^<>]*)?>", re.IGNORECASE)
_SAME_OPEN = {name: re.compile(r"<" + name + r"(?:\s[^<>]*)?>", re.IGNORECASE)
              for name in _STRIKE_TAGS}
_BLANK_LEAD = re.compile(r"[\s*#:;]*(?:<(?:li|dd|dt)\b[^<>]*>\s*)*")


def without_struck(content: str) -> tuple[str, str | None]:
    """The text with struck parts removed, and the struck text when the
    contribution *starts* with it (a struck vote).

    An unclosed ``<s>`` strikes to the end of its line, as the browser
    shows it inside a list item. A strike inside a strike
    (``<s>{{oppose}} <s>too new</s> few edits</s> {{support}}``) ends at
    its own ``</s>``, not the inner one: such text is read from
    mwparserfromhell's tree.
    """
    if "<" not in content:
        return content, None
    if not _ALWAYS_TREE:
        flat = _without_struck_flat(content, exact_only=True)
        if flat is not None:
            return flat
        if not tree_safe(content):  # a vandal's nest of strikes: the scan's reading
            return _without_struck_flat(content, exact_only=False) or (content, None)
    return _without_struck_tree(content)


def _without_struck_flat(content: str, exact_only: bool) -> tuple[str, str | None] | None:
    """``without_struck`` by scanning for tags; None when *exact_only* and
    a struck part holds another opening of its tag, which the scan would
    close too early."""
    pieces: list[str] = []
    lead: str | None = None
    pos = 0
    unclosed: set[str] = set()
    for m in _STRIKE_OPEN.finditer(content):
        if m.start() < pos:
            continue
        name = m.group(1).lower()
        close = None if name in unclosed else CLOSE_TAG[name].search(content, m.end())
        if close is not None:
            if exact_only and _SAME_OPEN[name].search(content, m.end(), close.start()):
                return None
            inner, end = content[m.end():close.start()], close.end()
        else:
            unclosed.add(name)
            nl = content.find("\n", m.end())
            end = len(content) if nl < 0 else nl
            inner = content[m.end():end]
        before = content[pos:m.start()]
        if lead is None and not pieces and _BLANK_LEAD.fullmatch(before):
            lead = inner
        elif lead is None:
            lead = ""  # something real came first: later strikes are not a struck vote
        pieces.append(before)
        pos = end
    pieces.append(content[pos:])
    return "".join(pieces), (lead or None)


def _without_struck_tree(content: str) -> tuple[str, str | None]:
    """``without_struck`` on mwparserfromhell's tree: every ``<s>``,
    ``<del>``, ``<strike>`` element goes, nested or inside a template's
    parameters; what the tree leaves as text (an unclosed ``<s>``) is then
    struck to the end of its line by the scan."""
    code = _mw().parse(content)  # our own copy: nodes are removed below
    struck = [t for t in code.filter_tags(recursive=True)
              if not t.self_closing and str(t.tag).strip().lower() in _STRIKE_TAGS]
    lead: str | None = None
    if struck:
        at = content.find(str(struck[0]))
        blank = at >= 0 and _BLANK_LEAD.fullmatch(content, 0, at) is not None
        lead = str(struck[0].contents) if blank else ""
        for tag in struck:
            try:
                code.remove(tag)
            except ValueError:
                pass  # inside a struck part removed already
    rest, flat_lead = _without_struck_flat(str(code), exact_only=False) or ("", None)
    return rest, (lead if lead is not None else flat_lead) or None
