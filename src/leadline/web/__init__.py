"""The browser shell: server-rendered pages (Jinja2, autoescaped) and vendored static files."""
