"""Export and import of the whole registry: JSON Lines (exact, every version) and CSV."""
