"""CSV that a spreadsheet opens as text: each cell's invisible characters written out, and a
would-be formula quoted; and a csv.writer target that hands back each line, for streaming."""

from core.visible_text import make_visible

# Formula injection: a spreadsheet would run a cell that starts with one of these.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Line:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: invisible and bidi characters written out as on the
    pages (`⟨U+202E⟩`: a CSV has no `<bdi>`), and a would-be formula quoted."""
    text = make_visible("" if value is None else str(value))
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
