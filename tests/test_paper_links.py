"""A card's paper text becomes one link, the same in ``lossbench show`` and on the leaderboard."""

from __future__ import annotations

import pytest

from lossbench.paper_links import paper_url


@pytest.mark.parametrize(("paper", "url"), [
    ("Lin et al. ICCV 2017, arXiv:1708.02002", "https://arxiv.org/abs/1708.02002"),
    ("see https://example.org/paper.pdf.", "https://example.org/paper.pdf"),
    ("Journal 2003, doi 10.1023/A:1024068626366", "https://doi.org/10.1023/A:1024068626366"),
    ("Goodfellow et al. Deep Learning. MIT Press 2016",
     "https://scholar.google.com/scholar?q=Goodfellow+et+al.+Deep+Learning.+MIT+Press+2016"),
    ("", None),
])
def test_every_paper_gets_a_link(paper, url):
    assert paper_url(paper) == url


def test_show_links_a_citation_without_an_address_like_the_leaderboard():
    """cross_entropy cites a book (no URL, arXiv id or DOI): ``show`` links the same Scholar
    search as the board, where it used to give no link."""
    import lossbench

    link = lossbench.show("cross_entropy", results=None)["card"]["paper_url"]
    assert link.startswith("https://scholar.google.com/scholar?q=Goodfellow%2C+Bengio")
