"""Dalil's conversation engine: messages in, channel-neutral replies out; CLI and HTTP app."""
