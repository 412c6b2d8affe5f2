"""Importing customers from a spreadsheet: `upload` takes `/import` and the file, `review` the
review buttons, `run` the background run and its progress, `undo` `/import undo`, `views`
the shared texts; `cli` is `crm-bot import` on the same storage calls.
"""
