"""Where a card's ``paper`` text links: the one rule ``lossbench show`` and the leaderboard share.

A card's ``paper`` is free text (``"Lin et al. Focal Loss for Dense Object Detection. ICCV 2017,
arXiv:1708.02002"``). :func:`paper_url` makes a link of it: the first http(s) URL it contains,
else its arXiv identifier (``arXiv:1708.02002`` → ``https://arxiv.org/abs/1708.02002``), else
its DOI (``10.1023/A:1024068626366`` → ``https://doi.org/…``), else a Google Scholar search for
the whole citation, so every cited paper gets a link. Standard library only: every layer may
use it.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus


def paper_url(paper: str) -> str | None:
    """A link for a card's ``paper`` text: its first http(s) URL, else an arXiv id as an
    arxiv.org link, else a DOI, else a Google Scholar search for the citation; None for an
    empty text."""
    text = str(paper or "")
    m = re.search(r"https?://[^\s)>\]]+", text)
    if m:
        return m.group(0).rstrip(".,;")
    m = re.search(r"arXiv[:\s]*(\d{4}\.\d{4,5})", text, re.IGNORECASE)
    if m:
        return f"https://arxiv.org/abs/{m.group(1)}"
    m = re.search(r"\b(10\.\d{4,9}/[^\s,;]+)", text)
    if m:
        return f"https://doi.org/{m.group(1).rstrip('.')}"
    if text.strip():  # a citation without an address: a scholarly search for it
        return "https://scholar.google.com/scholar?q=" + quote_plus(" ".join(text.split()))
    return None
