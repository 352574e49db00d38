"""Claim drafts from a pasted article: `tapecheck draft ARTICLE.txt`.

The pipeline, one small module each: `segment` reads the text and cuts it into sentences; `numbers` and `dates`
read numbers and dates, `figures` finds figures (a number with its unit, currency and direction); `entities`
finds the companies, coins, indices and commodities named near them; `propose` lines them up into claims, with
a rule where an entity, a series and a figure agree; `emit` writes the narrative file. Pure data layer: no
network, no Textual.
"""
