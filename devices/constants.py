"""Choices and fixed values of the device domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _

DEVICE_ID_LENGTH = 20
EVENTS_GROUP = "events"


class Transport(models.TextChoices):
    UDP = "udp", _("UDP")
    TCP = "tcp", _("TCP")


class MediaTransport(models.TextChoices):
    UDP = "udp", _("UDP")
    TCP_PASSIVE = "tcp-passive", _("TCP passive")
    TCP_ACTIVE = "tcp-active", _("TCP active")


class ChannelStatus(models.TextChoices):
    ON = "on", _("Online")
    OFF = "off", _("Offline")
    VLOST = "vlost", _("Video lost")
    DEFECT = "defect", _("Defect")


class PtzType(models.IntegerChoices):
    UNKNOWN = 0, _("Unknown")
    DOME = 1, _("Dome")
    HALF_DOME = 2, _("Half dome")
    FIXED = 3, _("Fixed")
    REMOTE = 4, _("Remote controlled bullet")


class CatalogSyncState(models.TextChoices):
    NEVER = "never", _("Never synchronised")
    RUNNING = "running", _("Running")
    COMPLETE = "complete", _("Complete")
    INCOMPLETE = "incomplete", _("Incomplete")
