"""Run the ASGI web server (uvicorn) on WEB_BIND (default 127.0.0.1:8000)."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gbplatform.settings")
    import django

    django.setup()
    import uvicorn
    from django.conf import settings

    host, _, port = settings.WEB_BIND.rpartition(":")
    uvicorn.run(
        "gbplatform.asgi:application",
        host=host.strip("[]") or "127.0.0.1",
        port=int(port),
        log_level="info",
        proxy_headers=True,
        lifespan="off",
        # The web tier relays live fMP4 from media workers (gbplatform/media_proxy.py): compressed
        # video does not deflate, so permessage-deflate would only burn this process's CPU.
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
