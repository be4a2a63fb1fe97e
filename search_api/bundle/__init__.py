"""Redacted disclosure bundles: per-document PDFs, the combined PDF, schedules, manifest and the leak check."""
