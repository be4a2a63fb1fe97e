"""The demo: a realistic sample corpus the project generates itself, and a sample FOI request run on it."""
