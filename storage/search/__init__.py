"""`/find`'s customer search: `find` answers queries tier by tier, `index` keeps the search keys
beside the customer table, `statements` builds each tier's statement once, `walk` is the
PostgreSQL name-order walk for common substrings.

Importers name the module they use (`storage.search.find`, `storage.search.index`): this
package imports nothing, because `storage.customers` needs `index` while `find` needs
`storage.customers`.
"""
