"""approvals.guards.distance: an exact edit distance, and a bounded number of pairs for a cluster of look-alikes."""

from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals.guards import distance
from approvals.guards.distance import CROWDED_KEY, edit_distance, near_pairs


def full_table_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment over the whole table: the textbook definition, slow and plain."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return min(table[-1][-1], limit + 1)


def edited(word: str, edits: list[tuple[int, int, str]]) -> str:
    """``word`` after a few edits (0 delete, 1 insert, 2 substitute, 3 swap neighbours) at given places."""
    letters = list(word)
    for kind, place, letter in edits:
        at = place % (len(letters) + 1)
        if kind == 0 and at < len(letters):
            del letters[at]
        elif kind == 1:
            letters.insert(at, letter)
        elif kind == 2 and at < len(letters):
            letters[at] = letter
        elif kind == 3 and at + 1 < len(letters):
            letters[at], letters[at + 1] = letters[at + 1], letters[at]
    return "".join(letters)


ALPHABET = st.sampled_from(["ab", "abc", "a.b_1", "やまだ", "abcdefghijklmnopqrstuvwxyz0123456789.-_"])


@hypothesis_settings(max_examples=3000, deadline=None)
@given(data=st.data(), limit=st.integers(0, 3))
@example(data=None, limit=2)
def test_the_distance_is_the_full_tables_up_to_the_limit(data, limit):
    if data is None:  # the worst pair for a table: different at both ends, 64 characters each
        a, b = "b" + "a" * 63, "a" * 63 + "c"
    else:
        alphabet = data.draw(ALPHABET)
        a = data.draw(st.text(alphabet, max_size=12))
        b = data.draw(st.one_of(
            st.text(alphabet, max_size=12),
            st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.sampled_from(alphabet)), max_size=4)
            .map(lambda edits: edited(a, edits))))
    assert edit_distance(a, b, limit) == full_table_distance(a, b, limit)
    assert edit_distance(b, a, limit) == edit_distance(a, b, limit)


def test_typical_slips_have_their_distances():
    assert edit_distance("yamada.taro", "yamada.taro") == 0
    assert edit_distance("yamada.taro", "yamada.tar0") == 1  # a confusable typed
    assert edit_distance("yamada.taro", "yamaad.taro") == 1  # neighbours swapped
    assert edit_distance("yamada.taro", "yamda.tarou") == 2  # one dropped, one added
    assert edit_distance("yamada.taro", "sato.hanako") == 3  # more than the limit: limit + 1


def one_letter_apart(size: int) -> list[str]:
    """Words one letter from each other, all sharing one key (the word without that letter), which no word is."""
    return [f"{'a' * (at // 2)}{'bc'[at % 2]}{'a' * (40 - at // 2)}" for at in range(size)]


def test_a_crowded_key_pairs_its_words_only_with_the_word_that_is_the_key():
    every_pair = CROWDED_KEY * (CROWDED_KEY - 1) // 2
    assert len(near_pairs(one_letter_apart(CROWDED_KEY), most_paired=CROWDED_KEY)) == every_pair
    # Two words more: a naming scheme; only neighbours that share another key pair up.
    assert len(near_pairs(one_letter_apart(CROWDED_KEY + 2), most_paired=CROWDED_KEY)) < CROWDED_KEY + 2
    # Without a limit (the look-alike domain check), every pair still counts.
    assert len(near_pairs(one_letter_apart(CROWDED_KEY + 2))) == (CROWDED_KEY + 2) * (CROWDED_KEY + 1) // 2


def test_a_letter_added_to_an_address_is_found_however_crowded_its_key():
    """tanaka / tanakaa share one key, tanaka itself; 65 other addresses one letter longer crowd it."""
    letters = "bcdefghijklmnopqrstuvwxyz"
    crowd = [f"tanaka{x}" for x in letters] + [f"{x}tanaka" for x in letters] + [f"tan{x}aka" for x in letters[:14]]
    words = ["tanaka", "tanakaa", *crowd]
    assert len(words) > CROWDED_KEY
    pairs = near_pairs(words, most_paired=CROWDED_KEY)
    assert (0, 1) in pairs
    assert (1, 2) not in pairs  # tanakaa / tanakab: a substitution inside the crowded key


def test_candidate_pairs_stop_at_their_limit_even_inside_one_key(monkeypatch):
    monkeypatch.setattr(distance, "MAX_CANDIDATES", 100)
    assert len(near_pairs(one_letter_apart(30))) == 100  # of 435
