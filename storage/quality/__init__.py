"""Data quality: the rules a team sets (required fields, weights, standard values) and the
pure functions that judge a record by them."""
