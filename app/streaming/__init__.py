"""Server-sent events: a run's events folded into page state and rendered as HTML partials."""
