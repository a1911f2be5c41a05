"""Pure clinical rules: a proposed session and its context in, a sourced decision out.

Nothing here imports a database or a web framework.
"""
