"""The worklist: outcome visits, earliest re-injection dates and physical-therapy visits."""
