"""Pre-injection screening: answers to the knowledge base's questions, medications."""
