"""Data quality: the rules a team sets (required fields, weights, standard values), the pure
functions that judge a record by them, normalised company names and duplicate clusters."""
