"""A large hashable value that hashes once (内容键): what completed answers are memoised by."""

from __future__ import annotations


class Content:
    """A large tuple that hashes once (a tuple hashes its items again at every lookup)."""

    __slots__ = ("hash", "values")

    def __init__(self, values: tuple) -> None:
        self.values, self.hash = values, hash(values)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Content) and other.hash == self.hash and other.values == self.values)
