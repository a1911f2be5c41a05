"""The clinical knowledge base: versioned, sourced data files and their loader."""

from bontrack.knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge

__all__ = ["KnowledgeBase", "KnowledgeError", "load_knowledge"]
