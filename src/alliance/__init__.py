"""Alliance: a consortium blockchain platform in Python.

See docs/architecture.md for the architecture; each subpackage opens with its own theory of operation.
"""

__version__ = "0.1.0"
