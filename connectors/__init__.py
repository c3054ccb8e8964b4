"""Channel connectors: console, REST, Telegram, WhatsApp."""
