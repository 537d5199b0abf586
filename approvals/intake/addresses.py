"""The address a row is sent to, derived from the cell exactly as it was uploaded.

The stored cell is never changed (a person typed it). What goes into the
envelope and the To header is its sendable form: Japanese input methods type a
full-width ＠ and letters, and spreadsheets keep spaces around values, so NFKC
and trimming are applied here, at the moment of use, by rendering and by the
delivery ledger alike. The preflight shows which rows this changed.
"""

import unicodedata


def sendable_address(stored: str) -> str:
    """``ｔａｒｏ＠example.jp `` -> ``taro@example.jp``; an ASCII address loses only surrounding spaces."""
    if stored.isascii():
        return stored.strip()
    return unicodedata.normalize("NFKC", stored).strip()
