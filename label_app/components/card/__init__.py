"""The annotation card: a Streamlit components-v2 element that handles the keyboard in the browser.

Label keys toggle choices locally (no round trip); a save sends one complete action to Python as the trigger
value `action` (see `label_app.components.card.actions` for its shape and how Python answers it). The HTML,
CSS and JavaScript live next to this file and are inlined when the component is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
NAME = "label_app.annotation_card"

_mount: Any = None


def _component() -> Any:
    global _mount
    if _mount is None:
        import streamlit as st

        _mount = st.components.v2.component(
            NAME,
            css=(_HERE / "card.css").read_text("utf-8"),
            js=(_HERE / "card.js").read_text("utf-8"),
        )
    return _mount


def annotation_card(data: dict[str, Any], key: str, on_action: Callable[[], None]) -> Any:
    """Mount the card with `data` (built by actions.build_card); `on_action` runs before the rerun that
    carries an action (read it from st.session_state[key]['action']). Returns the component result."""
    return _component()(key=key, data=data, on_action_change=on_action, height="content")
