"""Live data sources, one module each; none imports Textual. Heavy libraries (ccxt, yfinance) load lazily."""
