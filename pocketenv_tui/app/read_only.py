"""Why a key does nothing in read-only mode.

Read-only mode hides every binding that changes something (``check_action`` returns False),
and Textual then drops the key without a word. :func:`refused_binding` finds the binding a
key would have run, so the app can say that read-only mode turned it off instead.
"""

from __future__ import annotations

from collections.abc import Collection

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode


def refused_binding(app: App, key: str, mutating: Collection[str]) -> Binding | None:
    """The binding for ``key`` in the focus chain that read-only mode refused, if any.

    A binding counts when its action (without arguments) is in ``mutating`` or in the
    ``MUTATING`` set of the widget that holds it (the resource tabs keep their own).
    """
    node: DOMNode | None = app.focused or app.screen
    while node is not None:
        bindings = getattr(node, "_bindings", None)
        own = getattr(node, "MUTATING", ())
        for binding in bindings.key_to_bindings.get(key, []) if bindings is not None else []:
            action = binding.action.partition("(")[0]
            if (action in mutating or action in own) and node.check_action(action, ()) is False:
                return binding
        if node is app.screen:
            return None
        node = node.parent
    return None
