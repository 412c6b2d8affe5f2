"""The HTTP API (`crm-bot api`): `bot.api.app.create_app` builds it on a database,
`bot.api.cli.serve` runs it. It calls storage functions only, never the chat's handlers (an
import-linter contract). Nothing is imported here: `crm-bot` loads FastAPI only to serve.
"""
