"""Reports: data drawn from the registry, analysed by the pure analytics, shown as pictures."""
