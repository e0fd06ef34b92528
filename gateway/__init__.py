"""The gateway process: Starlette app, settings, auth, CLI, senders and workers."""
