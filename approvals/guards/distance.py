"""Edit distance and the symmetric-deletion index that finds near words without comparing all pairs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), or limit + 1 if larger."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def deletions(word: str) -> set[str]:
    """The word and every word one character shorter."""
    keys = {word[:i] + word[i + 1:] for i in range(len(word))}
    keys.add(word)
    return keys


def deletions2(word: str) -> set[str]:
    return {shorter for once in deletions(word) for shorter in deletions(once)}


# Above this many candidate pairs a list is one big cluster of look-alikes: report what was found.
MAX_CANDIDATES = 300_000


def near_pairs(words: list[str], extra_keys: Callable[[str], set[str]] | None = None,
               family: Callable[[int], str | None] | None = None) -> set[tuple[int, int]]:
    """Index pairs (i < j) of words whose one-deletion neighbourhoods meet (symmetric delete index).

    This finds every pair at edit distance 1 (substitution, insertion, deletion, swap
    of neighbours) and the distance-2 pairs of one insertion plus one deletion;
    ``extra_keys`` adds keys of its own per word (a folded spelling, a skeleton), so
    words that share one are paired too. ``family`` names a group inside which words
    are never paired (a numbered series: member00001, member00002…): a bucket is split
    by family first, so a series of 100,000 costs one pass, not its pairs.
    The cost is about length + 2 keys per word, counted in C (Counter) so that only
    keys two words share are handled in Python.
    """
    neighbourhoods = []
    every_key: list[str] = []
    for number, word in enumerate(words):
        # A member of a family (a numbered series) loses letters only, never digits: a slip in its
        # letters is still found, and its neighbours in the series (digits apart) share no key.
        if family is not None and family(number) is not None:
            keys = {word[:i] + word[i + 1:] for i in range(len(word)) if not word[i].isdigit()}
            keys.add(word)
        else:
            keys = deletions(word)
        if extra_keys is not None:
            keys |= {"\0" + key for key in extra_keys(word)}
        neighbourhoods.append(keys)
        every_key.extend(keys)
    shared = {key for key, count in Counter(every_key).items() if count > 1}
    del every_key
    pairs: set[tuple[int, int]] = set()
    if not shared:
        return pairs
    buckets: dict[str, list[int]] = defaultdict(list)
    for number, keys in enumerate(neighbourhoods):
        for key in keys & shared:
            buckets[key].append(number)
    for bucket in buckets.values():
        groups: dict[str | None, list[int]] = defaultdict(list)
        for number in bucket:
            groups[family(number) if family else None].append(number)
        members = list(groups.items())
        for g, (name, first) in enumerate(members):
            if name is None:
                pairs.update((a, b) if a < b else (b, a)
                             for x, a in enumerate(first) for b in first[x + 1:] if words[a] != words[b])
            for _other, second in members[g + 1:]:
                pairs.update((a, b) if a < b else (b, a) for a in first for b in second)
        if len(pairs) > MAX_CANDIDATES:
            break
    return pairs
