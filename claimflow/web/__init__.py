"""The review workstation: a small web app over the claims database (FastAPI, Jinja2; never imports prefect)."""
