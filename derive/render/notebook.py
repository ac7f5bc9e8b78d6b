"""``--format ipynb``: a notebook with a title cell and one Markdown cell per part (nbformat validates it)."""

from __future__ import annotations

from typing import Callable


def notebook(view, render_part: Callable) -> str:  # type: ignore[no-untyped-def, type-arg]
    import nbformat

    cells = [nbformat.v4.new_markdown_cell(f"# {view.derivation.title}\n\nWe derive ${view.goal_latex}$.")]
    cells += [nbformat.v4.new_markdown_cell(render_part(view, (part.key,)).strip()) for part in view.parts]
    cells.append(nbformat.v4.new_markdown_cell(f"**Result.** ${view.result_latex}$"))
    book = nbformat.v4.new_notebook(cells=cells)
    nbformat.validate(book)
    return nbformat.writes(book) + "\n"
