"""One module per scenario; each measures newapi against a direct call in the same run."""
