"""Alliance: a consortium blockchain platform in Python.

See DESIGN.md (shared) for the architecture; each subpackage opens with its own theory of operation.
"""

__version__ = "0.1.0"
