"""Edit distance and the symmetric-deletion index that finds near words without comparing all pairs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), or limit + 1 if larger.

    Equal ends are dropped (they cost nothing); at the first difference, each of the four edits that
    could mend it is tried with one edit less to spend. With a limit of 2 that is at most 21 string
    comparisons made in C, whatever the length: a table over two 64-character addresses took half a
    millisecond, and a list can hold a cluster of thousands of such look-alikes.
    """
    if a == b:
        return 0
    if limit <= 0 or abs(len(a) - len(b)) > limit:
        return limit + 1
    start = _common_prefix(a, b)
    end = _common_prefix(a[start:][::-1], b[start:][::-1])
    a, b = a[start:len(a) - end], b[start:len(b) - end]
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    mends = [(a[1:], b[1:]), (a[1:], b), (a, b[1:])]  # substitute, delete, insert the first character
    if len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]:
        mends.append((a[2:], b[2:]))  # swap it with its neighbour
    best = limit + 1
    for x, y in mends:
        best = min(best, 1 + edit_distance(x, y, best - 2))  # only a cheaper mend counts: spend less
        if best == 1:
            break  # no mend costs less than one edit
    return best


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters a and b share, by halving (slices are compared in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def deletions(word: str) -> set[str]:
    """The word and every word one character shorter."""
    keys = {word[:i] + word[i + 1:] for i in range(len(word))}
    keys.add(word)
    return keys


def deletions2(word: str) -> set[str]:
    return {shorter for once in deletions(word) for shorter in deletions(once)}


# Above this many candidate pairs a list is one big cluster of look-alikes: report what was found.
MAX_CANDIDATES = 300_000
# A key shared by more words than this is crowded: a naming scheme (user-aa, user-ab …), not slips. All
# its pairs (2,000 for 64 words, 1.3 million for 1,600) would only fill MAX_CANDIDATES, so only the
# word that is the key itself is paired (see near_pairs). In generated 200,000-row member lists no key
# is shared by more than 14 addresses of one domain (bench/guards_eval.py's corpus).
CROWDED_KEY = 64


def near_pairs(words: list[str], extra_keys: Callable[[str], set[str]] | None = None,
               family: Callable[[int], str | None] | None = None,
               most_paired: int | None = None) -> set[tuple[int, int]]:
    """Index pairs (i < j) of words whose one-deletion neighbourhoods meet (symmetric delete index).

    This finds every pair at edit distance 1 (substitution, insertion, deletion, swap
    of neighbours) and the distance-2 pairs of one insertion plus one deletion;
    ``extra_keys`` adds keys of its own per word (a folded spelling, a skeleton), so
    words that share one are paired too. ``family`` names a group inside which words
    are never paired (a numbered series: member00001, member00002…): a bucket is split
    by family first, so a series of 100,000 costs one pass, not its pairs.
    A key shared by more than ``most_paired`` words pairs only the word that is the key itself
    with the others (a letter added or dropped: tanaka / tanakaa), not the others among
    themselves: inside a crowded key, a substitution (tanaka / tanoka) is not found.
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
    for key, bucket in buckets.items():
        if most_paired is not None and len(bucket) > most_paired:
            _add_pairs(pairs, _pairs_with_the_key_itself(key, bucket, words, family))
        else:
            _add_pairs(pairs, _pairs_in(bucket, words, family))
        if len(pairs) >= MAX_CANDIDATES:
            break
    return pairs


def _pairs_in(bucket: list[int], words: list[str], family: Callable[[int], str | None] | None) -> Iterator:
    """Every pair of the bucket's words, except two of one family and two equal words."""
    groups: dict[str | None, list[int]] = defaultdict(list)
    for number in bucket:
        groups[family(number) if family else None].append(number)
    members = list(groups.items())
    for g, (name, first) in enumerate(members):
        if name is None:
            yield from ((a, b) for x, a in enumerate(first) for b in first[x + 1:] if words[a] != words[b])
        for _other, second in members[g + 1:]:
            yield from ((a, b) for a in first for b in second)


def _pairs_with_the_key_itself(key: str, bucket: list[int], words: list[str],
                               family: Callable[[int], str | None] | None) -> Iterator:
    """The word equal to the key, with each other word of the bucket (linear in a crowded key)."""
    for itself in (number for number in bucket if words[number] == key):
        kin = family(itself) if family else None
        yield from ((itself, other) for other in bucket
                    if words[other] != key and (kin is None or family(other) != kin))


def _add_pairs(pairs: set[tuple[int, int]], new: Iterator[tuple[int, int]]) -> None:
    """Add pairs, each as (smaller, larger), until there are MAX_CANDIDATES (the rest is not read)."""
    for a, b in new:
        if len(pairs) >= MAX_CANDIDATES:
            return
        pairs.add((a, b) if a < b else (b, a))
