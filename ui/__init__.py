"""Streamlit pieces shared by several pages (language, header, pickers, cached models).

Pages import from here and from core; core never imports this package.
"""
