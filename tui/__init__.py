"""tapecheck: hold what news articles claim against the live market tape."""

__version__ = "0.1.0"
