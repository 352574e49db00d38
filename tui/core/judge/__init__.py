"""Judging: claims held against the tape, now and on their own dates; the view a dashboard draws; alerts,
status and reports."""
