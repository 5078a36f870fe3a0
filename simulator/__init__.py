"""A simulator of the KPN Things MQTT and LoRa Downlinks APIs, faithful to their specs.

It stands apart from the portal: it implements the specs in `specs/`, not our client, so a
mistake in the client's models cannot hide behind a simulator that shares them. Its core is a
plain WSGI application with its own SQLite store; this Django app only carries the management
commands that start it and mint tokens.
"""
