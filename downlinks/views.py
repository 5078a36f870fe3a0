"""Downlink pages: the dashboard issue adds them."""
