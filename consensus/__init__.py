"""Concord consensus engine: Polis-style vote-matrix math with no Django dependency.

Import-light on purpose: submodules (``consensus.pipeline``, ``consensus.polis_export``...) are
imported explicitly by callers, so ``import consensus`` pulls in neither numpy nor Django.
"""
