"""Intent handlers, one module per group of intents."""
