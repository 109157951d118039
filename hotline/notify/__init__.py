"""Messages sent to citizens (SMS through the center's gateway): the outbox and its sender.

    settings.py   ``Settings.notify`` (``HOTLINE_NOTIFY__*``): the gateway, the public address
    models.py     the ``outgoing_message`` table (the durable outbox)
    texts.py      pure: what each message says, the links it carries
    planning.py   which messages the ticket change outbox calls for (web tickets)
    store.py      enqueue, claim under a lease, sent / retried / failed
    gateway.py    the ``SmsGateway`` port and its HTTP adapter (POST JSON {to, text})
    sender.py     the background loop that plans and delivers, built by ``hotline.app``
"""
