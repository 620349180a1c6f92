"""Strings the JavaScript modules show, translated on the server into the page's language and
handed to the page as JSON (no separate JavaScript catalogue to compile)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def event_labels() -> dict[str, str]:
    return {
        "device.registered": _("Device registered"),
        "device.unregistered": _("Device unregistered"),
        "device.online": _("Device online"),
        "device.offline": _("Device offline"),
        "device.updated": _("Device changed"),
        "device.deleted": _("Device deleted"),
        "channel.status": _("Channel status"),
        "catalog.progress": _("Catalog arriving"),
        "catalog.updated": _("Catalog updated"),
    }


def console_strings() -> dict[str, object]:
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "loading": _("Loading…"),
        "loadMore": _("Load more"),
        "noResults": _("Nothing matches."),
        "devices": _("Devices"),
        "channels": _("Channels"),
        "failed": _("Failed: {detail}"),
        "saved": _("Saved."),
        "confirmDelete": _("Delete device {id} and all its channels?"),
        "catalogRequested": _("Catalog requested, waiting for the device…"),
        "catalogProgress": _("{received} of {total} catalog items received"),
        "catalogDone": _("Catalog updated: {count} channels"),
        "catalogIncomplete": _("Catalog incomplete: {count} channels"),
        "eventsConnected": _("Live events connected"),
        "eventsDisconnected": _("Live events disconnected, reconnecting…"),
        "healthOk": pgettext("health", "OK"),
        "emptyCell": _("Drop a channel here or click one in the tree"),
        "stop": _("Stop"),
        "playing": _("Starting…"),
        "bitrate": _("{kbps} kbit/s"),
        "fps": _("{fps} fps"),
        "loss": _("loss {percent}%"),
        "noPlayer": _("This browser can play neither fMP4 nor HLS."),
        "status": {
            "on": _("Online"),
            "off": _("Offline"),
            "vlost": _("Video lost"),
            "defect": _("Defect"),
        },
        "events": event_labels(),
    }
