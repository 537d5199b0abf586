"""Look-alike spellings: the characters and endings people confuse when they read or type a domain.

``skeleton`` maps a domain to the form it shares with every domain one
confusion away: ``exarnple.jp`` (rn/m), ``examp1e.jp`` (1/l), ``ex4mple.jp`` is not
one; ``vvest`` (vv/w), ``cl``/``d``, ``0``/``o``, ``I``/``l``, a hyphen typed for a dot
(``city-yokohama.lg.jp``) and the endings fingers slip into (``.jo``, ``.ip``,
``.jpp`` for ``.jp``; ``.con``, ``.cm`` for ``.com``). Two different domains with
the same skeleton are confusable.
"""

from __future__ import annotations

from functools import lru_cache

# Visually confusable runs, replaced longest first.
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SINGLE = str.maketrans({"1": "l", "i": "l", "|": "l", "0": "o", "_": ".", "-": "."})
# Endings nobody means, mapped to the one they were typed for.
TLD_TYPOS = {
    "jo": "jp", "ip": "jp", "jpp": "jp", "jjp": "jp", "pj": "jp", "jn": "jp", "op": "jp", "kp": "jp", "jl": "jp",
    "j": "jp", "jpn": "jp",
    "con": "com", "cm": "com", "co": "com", "om": "com", "comm": "com", "cpm": "com", "xom": "com", "vom": "com",
    "ocm": "com", "cmo": "com", "coom": "com", "c": "com",
    "nte": "net", "ne": "net",
}


@lru_cache(maxsize=65_536)
def skeleton(domain: str) -> str:
    domain = domain.lower().rstrip(".")
    head, dot, ending = domain.rpartition(".")
    if dot:
        domain = f"{head}.{TLD_TYPOS.get(ending, ending)}"
    for run, replacement in _MULTI:
        if run in domain:
            domain = domain.replace(run, replacement)
    return domain.translate(_SINGLE)


@lru_cache(maxsize=65_536)
def text_skeleton(word: str) -> str:
    """The skeleton of a local part or a label: the same confusions, no ending rules."""
    word = word.lower()
    for run, replacement in _MULTI:
        if run in word:
            word = word.replace(run, replacement)
    return word.translate(_SINGLE)
