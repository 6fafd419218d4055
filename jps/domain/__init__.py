"""The JPS domain: stages, roles, programmes and their policies, NIK rules, and the models.

One place for each fact: every other package imports these names instead of restating them.
"""
