"""Local development stack for Flexcord: emulators of the services the bot talks to."""
