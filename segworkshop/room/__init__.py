"""The room: a served session that participants join from their own browsers (``segworkshop serve``).

* :mod:`.tokens` — the join link's and the facilitator's tokens, and each participant's own key;
* :mod:`.board` — what the room shares (step, one countdown on server time, reveal) and every entry a
  participant or the facilitator makes, written through the journal (the same concurrency guarantees as the
  notebooks; ``segworkshop run`` renders a served session as any other);
* :mod:`.pages` — the participant page and the facilitator's board: plain HTML and JavaScript served by the
  app, no CDN, every name and text shown as text;
* :mod:`.app` — the ASGI app (Starlette) and the server (uvicorn, loopback by default).

Participants get pages, never code: there is no kernel and no endpoint that runs what a page sends.
"""
