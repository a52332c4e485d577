"""Testing support shipped with the package: the deterministic simulator (``alliance.testing.sim``)."""
