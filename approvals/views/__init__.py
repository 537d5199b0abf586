"""Thin views, one module per role; they parse input, call the workflow and render."""
