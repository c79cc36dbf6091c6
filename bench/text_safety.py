"""Plugin-supplied text made inert for the medium that shows it: one function per medium.

A plugin controls many strings lossbench shows: entry names, card fields, hyperparameters, error
messages and tracebacks of its runs. Shown raw, such a string could drive the terminal (``ESC
[2J`` clears the screen, a CR overwrites the line), reorder what a reader sees (the bidi override
U+202E), break rich's markup parser (``[/red]`` raises ``MarkupError`` in the middle of a sweep),
or inject markdown or HTML. Every such string goes through the function of the medium it is
shown in:

* :func:`for_terminal` — progress lines, error messages, ``list``, ``show``: control characters
  (C0 including ESC and CR, DEL, C1) and invisible format characters (bidi embeddings, overrides
  and isolates U+202A–U+202E, U+2066–U+2069, zero-width characters) are written visibly as
  Python escapes (``\\x1b``, ``\\u202e``). The result carries no rich markup meaning only where it
  is printed with markup off; :func:`lossbench.progress` prints plugin text as ``rich.text.Text``.
  :func:`one_line` is the same on one line, cut to a length (a failure's reason, a table cell).
* :func:`for_markdown` — the leaderboard pages: the same visible escapes, on one line, and no
  table cell break, link, HTML tag or entity can start from the text.
* :func:`for_html` — the static site: :func:`html.escape` (quotes included) after the same
  visible escapes.

No import beyond the standard library: every layer may use it.
"""

from __future__ import annotations

import html

#: The length :func:`one_line` cuts a plugin's text to by default (a failure's reason).
REASON_LIMIT = 300


def visible(text: str, keep: str = "") -> str:
    """``text`` with every non-printable character — control characters, bidi and zero-width
    format characters, line and paragraph separators — written as a Python escape (``\\x1b``,
    ``\\u202e``, ``\\U000e0001``), except the characters in ``keep`` (e.g. ``"\\n"`` for a
    multi-line block). Printable text (any script, emoji) is unchanged."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch in keep:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def for_terminal(value: object, multiline: bool = False) -> str:
    """``value`` as text safe to print on a terminal: no character of it can move the cursor,
    clear the screen, change colours or reorder the line (:func:`visible`; with ``multiline``,
    newlines are kept). Print it with rich markup off (or inside a ``rich.text.Text``): its
    brackets are then plain characters."""
    return visible(str(value), "\n" if multiline else "")


def one_line(text: object, limit: int = REASON_LIMIT) -> str:
    """``text`` on one line for a terminal: whitespace runs collapsed, non-printable characters
    written visibly (:func:`visible`), cut to ``limit`` characters (the last one ``…``)."""
    flat = visible(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


_MD_ESCAPES = {"\\": "\\\\", "|": "\\|", "`": "\\`", "[": "\\[", "]": "\\]",
               "&": "&amp;", "<": "&lt;"}


def for_markdown(value: object) -> str:
    """``value`` made inert in markdown (and in the HTML a markdown renderer makes of it): one
    line (spaces, tabs and newlines collapsed), other non-printable characters visible
    (:func:`visible`: CR as ``\\x0d``), and no table cell break (``|``), link (``[``/``]``),
    HTML tag or entity (``<``, ``&``) can start from it; an unbalanced backtick is escaped
    (balanced code spans stay code spans)."""
    text = " ".join(visible(str(value), "\t\n ").split())
    keep = {"`"} if text.count("`") % 2 == 0 else set()
    return "".join(ch if ch in keep else _MD_ESCAPES.get(ch, ch) for ch in text)


def for_html(value: object, multiline: bool = False) -> str:
    """``value`` as HTML text or attribute value: non-printable characters visible
    (:func:`visible`; with ``multiline``, newlines and tabs kept, for a ``<pre>`` block), then
    ``& < > " '`` escaped."""
    return html.escape(visible(str(value), "\n\t" if multiline else ""), quote=True)
