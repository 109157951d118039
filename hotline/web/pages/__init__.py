"""The console's server-rendered pages (Jinja2 templates in ``web/templates``, htmx from
``web/static/vendor``), one module per workspace:

    login.py    /login, /logout
    seat.py     /seat...   the seat operator (话务员): seat state, call pop, ticket form
    unit.py     /unit...   the unit handler (承办单位): inbox, sign, return, extension, reply

``include_pages`` installs them on the app ``include_api`` built (it needs its WebContext).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hotline.web.pages import login
from hotline.web.pages.common import install_pages


def include_pages(app: FastAPI, *, web_dir: Path) -> None:
    install_pages(app, web_dir=web_dir)
    app.include_router(login.router)
