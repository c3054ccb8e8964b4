"""``python -m bot.cli``: the same as ``dalil``."""

from bot.cli import main

raise SystemExit(main())
