"""Clinical assessment: trigger points per muscle and side, pressure pain thresholds, notes."""
