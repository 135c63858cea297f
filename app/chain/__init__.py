"""The chain engine: variables, lint, references, preview and the runner — no Flask here."""
