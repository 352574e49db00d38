"""The data layer: claims, rules, tapes, the store. It imports neither Textual nor any network library."""
