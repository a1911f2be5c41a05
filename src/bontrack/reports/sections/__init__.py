"""The clinic report's sections: one module per section, each a pure function from the cohort
frames (and the knowledge base) to a documented result type with keyword-only constructors.

``reports.content`` assembles them into the one ``Report`` the HTML, PDF and JSON faces render.
"""
