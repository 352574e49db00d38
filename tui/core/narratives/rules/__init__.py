"""The claim rule language: a small safe parser, unit checking and evaluation against a tape."""
