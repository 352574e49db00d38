"""The one process that talks to the internet: sources, the poller, the collector."""
