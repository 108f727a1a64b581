"""Custom Streamlit components of the app, served from this package (no build step, nothing downloaded)."""
