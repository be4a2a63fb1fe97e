"""The shared core of disclose: the item model, the workspace, the evidence store and the case store."""

__version__ = "0.1.0"
