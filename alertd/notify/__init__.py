"""Telling people: `render` turns an alert into a message, `deliver` sends it through Apprise.

Nothing is imported here, so that rendering never loads Apprise or registers `console://`.
"""
