"""Data quality after entry: normalised company names and duplicate clusters (issue 19)."""
