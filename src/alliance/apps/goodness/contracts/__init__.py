"""The Goodness contract's source, shipped as package data (``goodness.py``): plain Python in the
contract language, deployed by committee vote. Importing it here runs nothing on a chain; the
engine loads it from its text (``alliance.apps.goodness.contract_source``)."""
