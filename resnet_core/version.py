"""The package's version, in the foundation: a module that records it (training's provenance)
imports it from here, never from the bare package above every layer."""

__version__ = "0.1.0"
