"""The dashboard in a browser (`tapecheck serve`): a web server, behind a token, that runs one terminal
viewer per tab through textual-serve. It draws nothing itself and never polls a source."""
