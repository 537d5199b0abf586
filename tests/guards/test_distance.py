"""approvals.guards.distance: an exact edit distance, and a bounded number of pairs for a cluster of look-alikes."""

from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals.guards import distance
from approvals.guards.distance import MAX_BUCKET, edit_distance, near_pairs


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


def test_a_key_shared_by_more_words_than_a_bucket_holds_pairs_none_of_them():
    # Every word is one letter from the others, all sharing the key without that letter.
    def cluster(size):
        return [f"{'a' * (at // 2)}{'bc'[at % 2]}{'a' * (40 - at // 2)}" for at in range(size)]

    assert len(near_pairs(cluster(MAX_BUCKET))) == MAX_BUCKET * (MAX_BUCKET - 1) // 2
    # One more word: the shared key is a naming scheme; only neighbours that share another key pair up.
    assert len(near_pairs(cluster(MAX_BUCKET + 2))) < MAX_BUCKET + 2


def test_candidate_pairs_stop_at_their_limit_even_inside_one_key(monkeypatch):
    monkeypatch.setattr(distance, "MAX_CANDIDATES", 100)
    words = [f"{'a' * (at // 2)}{'bc'[at % 2]}{'a' * (40 - at // 2)}" for at in range(30)]  # 435 pairs
    assert len(near_pairs(words)) == 100
