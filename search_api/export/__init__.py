"""Exports for other tools: legal productions (natives, text, images, DAT/OPT/CSV load files) and RSMF for chat."""
