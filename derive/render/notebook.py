"""``--format ipynb``: a notebook with a title cell and one Markdown cell per part (nbformat validates it)."""

from __future__ import annotations

from typing import Callable


def notebook(view, render_part: Callable) -> str:  # type: ignore[no-untyped-def, type-arg]
    import nbformat

    sources = [f"# {view.derivation.title}\n\nWe derive ${view.goal_latex}$."]
    sources += [render_part(view, (part.key,)).strip() for part in view.parts]
    sources.append(f"**Result.** ${view.result_latex}$")
    # stable cell ids: the same derivation gives the same notebook, byte for byte
    cells = [nbformat.v4.new_markdown_cell(source, id=f"derive-{number}") for number, source in enumerate(sources)]
    book = nbformat.v4.new_notebook(cells=cells)
    nbformat.validate(book)
    return nbformat.writes(book) + "\n"
