"""The Streamlit pages (run by path from label_app.app; a package so the layer contracts can name it)."""
