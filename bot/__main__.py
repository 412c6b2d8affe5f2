"""`python -m bot` is `crm-bot`."""

from bot.cli import main

raise SystemExit(main())
