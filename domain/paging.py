"""Page sizes (分页): every list takes `first` between 1 and MAX_PAGE, checked before any work."""

from __future__ import annotations

from zizhu.domain.errors import ValidationFailed

MAX_PAGE = 500


def page_size(first: int) -> int:
    """`first` itself when it is within 1..MAX_PAGE, else VALIDATION naming the bound."""
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed(f"first 须在 1 到 {MAX_PAGE} 之间", argument="first", min=1, max=MAX_PAGE)
    return first
