"""The real servers the tests start, one module per server; ``tests/realservers.py``
gathers them (read its docstring first)."""
