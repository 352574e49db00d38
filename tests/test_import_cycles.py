"""No import circles among tui's modules: a circle means neither module can be read, loaded or tested without the
other (grimp, import-linter's graph library, finds them; an import under `if TYPE_CHECKING:` loads nothing and is
left out)."""

from __future__ import annotations

import grimp


def test_no_module_of_tui_imports_itself_in_a_circle() -> None:
    graph = grimp.build_graph("tui", exclude_type_checking_imports=True)
    circles: set[tuple[str, ...]] = set()
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            path = graph.find_shortest_chain(importer=imported, imported=module)
            if path is not None:  # module -> imported -> ... -> module
                circle = (module, *path[:-1])
                start = circle.index(min(circle))  # one circle, whichever module it was found from
                circles.add(circle[start:] + circle[:start])
    shown = "\n".join(" -> ".join((*circle, circle[0])) for circle in sorted(circles))
    assert not circles, f"{len(circles)} import circles among tui's modules:\n{shown}"
