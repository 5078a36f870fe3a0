"""Pieces every app may use that know no app: the floor of the project.

Nothing here imports from the rest of the project; `tests/test_layering.py` holds it to that.
"""
