from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or update the admin user from ADMIN_USERNAME/ADMIN_PASSWORD; without them, create "
        "'admin' with a random password printed once, if no superuser exists yet."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        username, password = settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD
        if username and password:
            user, created = users.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            self.stdout.write(f"admin user {username!r} {'created' if created else 'updated'} from ADMIN_PASSWORD")
            return
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("an admin user exists; set ADMIN_USERNAME and ADMIN_PASSWORD to change it")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username="admin", email="", password=password)
        self.stdout.write(self.style.WARNING(f"created admin user 'admin' with password: {password}  (shown once)"))
