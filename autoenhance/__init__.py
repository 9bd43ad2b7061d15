"""The autoenhance command line: replay events, generate events, check config, task status."""
