"""Physical therapy alongside the injections: plans and visits."""
