"""Deterministic simulation of a whole alliance, to find consensus bugs by adversarial search.

Real consensus cores and real executors run over a simulated network and disks with faults and
Byzantine validators; one seed reproduces one run (``options``); ``checkers`` judge the
properties of spec/consensus.md; ``runner`` is the command line. Deliberately broken variants
(``options.CAUGHT_BY``, one per checker) show that each checker fires (spec/consensus.md, section 7).
"""
