"""Changing saved records: `customers` (edit, delete, merge, reassign and `/restore` of all
three kinds), `deals` and `notes` (edit, delete, restore), each its own feature; `edit` is
the one-field edit they share, `removal` the delete and restore.
"""
