"""The dashboard's screens: the theme panels, a claim, a series, the sources, and help."""
