"""Monitor drivers: protocol conversations that turn received bytes into readings."""
