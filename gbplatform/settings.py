"""Django settings, all taken from environment variables (see README.md for the list)."""

from __future__ import annotations

import dj_database_url

from .config import (
    BASE_DIR,
    VAR_DIR,
    detect_advertised_ip,
    env_bool,
    env_int,
    env_list,
    env_str,
    generated_secret,
    port_range,
    public_media_url,
)

SECRET_KEY = generated_secret("SECRET_KEY", "secret_key", 48)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
WEB_BIND = env_str("WEB_BIND", "127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "channels",
    "devices",
    "sip_gateway",
    "media",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gbplatform.urls"
ASGI_APPLICATION = "gbplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gbplatform.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web tier read while a Celery worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "console:login"

# --- Redis: Channels layer, Celery broker, gateway/media command bus ---------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "gb:")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}asgi"},
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "devices-mark-stale-offline": {"task": "devices.tasks.devices_mark_stale_offline", "schedule": 30.0},
}

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GB/T 28181 platform API",
    "DESCRIPTION": "Devices, channels, the device tree and live streams of a GB/T 28181 video platform.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- SIP gateway -----------------------------------------------------------------------------------
SIP_ID = env_str("SIP_ID", "34020000002000000001")
SIP_DOMAIN = env_str("SIP_DOMAIN", SIP_ID[:10])
SIP_BIND = env_str("SIP_BIND", "0.0.0.0")
SIP_PORT = env_int("SIP_PORT", 5060)
SIP_PASSWORD = generated_secret("SIP_PASSWORD", "sip_password", 12)
SIP_ADVERTISED_IP = env_str("SIP_ADVERTISED_IP", "") or detect_advertised_ip()
SIP_ACCEPT_UNKNOWN_DEVICES = env_bool("SIP_ACCEPT_UNKNOWN_DEVICES", True)
SIP_REGISTER_EXPIRES = env_int("SIP_REGISTER_EXPIRES", 3600)
SIP_QUERY_ON_REGISTER = env_bool("SIP_QUERY_ON_REGISTER", True)  # DeviceInfo, Catalog, DeviceStatus
KEEPALIVE_INTERVAL = env_int("KEEPALIVE_INTERVAL", 60)
GATEWAY_COMMAND_TIMEOUT = float(env_int("GATEWAY_COMMAND_TIMEOUT", 8))
KEEPALIVE_MISSES = env_int("KEEPALIVE_MISSES", 3)

# --- Media workers -----------------------------------------------------------------------------------
MEDIA_RTP_PORTS = port_range("MEDIA_RTP_PORTS", "30000-30499")
MEDIA_BIND = env_str("MEDIA_BIND", "0.0.0.0")
MEDIA_ADVERTISED_IP = env_str("MEDIA_ADVERTISED_IP", "") or SIP_ADVERTISED_IP
MEDIA_HTTP_BIND = env_str("MEDIA_HTTP_BIND", "127.0.0.1:8081")
MEDIA_OUTPUT_DIR = VAR_DIR / "media"
MEDIA_RTP_TIMEOUT = env_int("MEDIA_RTP_TIMEOUT", 15)
MEDIA_TCP_CONNECT_TIMEOUT = env_int("MEDIA_TCP_CONNECT_TIMEOUT", 10)
MEDIA_HLS_SEGMENT_SECONDS = float(env_str("MEDIA_HLS_SEGMENT_SECONDS", "2.0"))
MEDIA_HLS_LIST_SIZE = env_int("MEDIA_HLS_LIST_SIZE", 6)
# Camera audio (G.711/AAC) transcoded to AAC in HLS and WebSocket fMP4; a play request's `audio`
# overrides it. Off by default: audio costs CPU, and recording sound is often restricted by law.
MEDIA_AUDIO = env_bool("MEDIA_AUDIO", False)
MEDIA_TOKEN_TTL = env_int("MEDIA_TOKEN_TTL", 3600)
# Stream URLs in API answers: "" through the web tier at the request's own scheme and host (it
# passes /media/ on to the worker), "direct" to each worker's own address, or a fixed base URL.
MEDIA_PUBLIC_URL = public_media_url("MEDIA_PUBLIC_URL")

# --- Live streams (gateway side) ---------------------------------------------------------------------
STREAM_IDLE_SECONDS = env_int("STREAM_IDLE_SECONDS", 30)
STREAM_KEYFRAME_TIMEOUT = env_int("STREAM_KEYFRAME_TIMEOUT", 10)
STREAM_INVITE_TIMEOUT = env_int("STREAM_INVITE_TIMEOUT", 10)
STREAM_PLAY_TIMEOUT = env_int("STREAM_PLAY_TIMEOUT", 30)

# --- Liveness of the other processes, as seen through Redis heartbeats ------------------------------
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 5)
HEARTBEAT_TTL = env_int("HEARTBEAT_TTL", 15)

ADMIN_USERNAME = env_str("ADMIN_USERNAME", "")
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
