"""Tests against real servers named in the environment; skipped when those variables are unset."""
