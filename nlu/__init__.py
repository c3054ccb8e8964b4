"""Natural-language understanding: normalisation, entities, intents, engines."""
