"""The dashboard's pages: each module has `render()` and runs it when Streamlit executes the file."""
