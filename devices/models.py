"""Devices, their channels, and the tree nodes a catalog describes."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .constants import CatalogSyncState, ChannelStatus, MediaTransport, PtzType, Transport

gb_id_validator = RegexValidator(r"^\d{20}$", _("A GB/T 28181 ID has exactly 20 digits."))


class Device(models.Model):
    """A device (camera, NVR, encoder or lower platform) that registers over SIP."""

    device_id = models.CharField(_("device ID"), max_length=20, unique=True, validators=[gb_id_validator])
    name = models.CharField(_("name"), max_length=128, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=64, blank=True)
    model = models.CharField(_("model"), max_length=64, blank=True)
    firmware = models.CharField(_("firmware"), max_length=64, blank=True)
    transport = models.CharField(_("signalling transport"), max_length=8, choices=Transport.choices, default=Transport.UDP)
    media_transport = models.CharField(
        _("media transport"), max_length=16, choices=MediaTransport.choices, default=MediaTransport.UDP
    )
    source_ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    source_port = models.PositiveIntegerField(_("source port"), null=True, blank=True)
    online = models.BooleanField(_("online"), default=False, db_index=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("registration expires at"), null=True, blank=True)
    last_keepalive_at = models.DateTimeField(_("last keepalive at"), null=True, blank=True)
    password = models.CharField(
        _("password"), max_length=64, blank=True, help_text=_("Leave empty to use the platform's SIP password.")
    )
    charset = models.CharField(_("character set seen"), max_length=16, blank=True)
    gb_version = models.CharField(_("GB version seen"), max_length=8, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=128, blank=True)
    catalog_state = models.CharField(
        _("catalog synchronisation"), max_length=16, choices=CatalogSyncState.choices, default=CatalogSyncState.NEVER
    )
    catalog_synced_at = models.DateTimeField(_("catalog synchronised at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["device_id"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return f"{self.name or self.device_id} ({self.device_id})"


class Channel(models.Model):
    """A video, audio or alarm channel listed in a device's catalog.

    Channel IDs are unique per device only: NVRs of different vendors reuse them.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="channels", verbose_name=_("device"))
    channel_id = models.CharField(_("channel ID"), max_length=32)
    name = models.CharField(_("name"), max_length=128, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=64, blank=True)
    model = models.CharField(_("model"), max_length=64, blank=True)
    owner = models.CharField(_("owner"), max_length=64, blank=True)
    civil_code = models.CharField(_("civil code"), max_length=20, blank=True, db_index=True)
    block = models.CharField(_("block"), max_length=64, blank=True)
    address = models.CharField(_("address"), max_length=256, blank=True)
    parental = models.BooleanField(_("has children"), default=False)
    parent_id = models.CharField(_("parent ID"), max_length=256, blank=True, db_index=True)
    business_group_id = models.CharField(_("business group ID"), max_length=20, blank=True, db_index=True)
    safety_way = models.PositiveSmallIntegerField(_("safety way"), null=True, blank=True)
    register_way = models.PositiveSmallIntegerField(_("register way"), null=True, blank=True)
    secrecy = models.PositiveSmallIntegerField(_("secrecy"), null=True, blank=True)
    ip_address = models.CharField(_("IP address"), max_length=64, blank=True)
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    ptz_type = models.PositiveSmallIntegerField(_("PTZ type"), choices=PtzType.choices, default=PtzType.UNKNOWN)
    status = models.CharField(_("status"), max_length=8, choices=ChannelStatus.choices, default=ChannelStatus.OFF)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    raw = models.JSONField(_("raw catalog fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["device_id", "channel_id"]
        constraints = [models.UniqueConstraint(fields=["device", "channel_id"], name="channel_unique_per_device")]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return f"{self.name or self.channel_id} ({self.channel_id})"


class Region(models.Model):
    """An administrative region, identified by its civil code (2, 4, 6 or 8 digits)."""

    civil_code = models.CharField(_("civil code"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=128, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", verbose_name=_("parent")
    )

    class Meta:
        ordering = ["civil_code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name or self.civil_code} ({self.civil_code})"


class BusinessGroup(models.Model):
    """A business group (type 215) from a device's catalog."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="business_groups", verbose_name=_("device")
    )
    group_id = models.CharField(_("group ID"), max_length=20)
    name = models.CharField(_("name"), max_length=128, blank=True)
    raw = models.JSONField(_("raw catalog fields"), default=dict, blank=True)

    class Meta:
        ordering = ["group_id"]
        constraints = [models.UniqueConstraint(fields=["device", "group_id"], name="business_group_unique_per_device")]
        verbose_name = _("business group")
        verbose_name_plural = _("business groups")

    def __str__(self) -> str:
        return f"{self.name or self.group_id} ({self.group_id})"


class VirtualOrganization(models.Model):
    """A virtual organisation (type 216): a folder inside a business group, possibly nested."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="virtual_organizations", verbose_name=_("device")
    )
    org_id = models.CharField(_("organisation ID"), max_length=20)
    name = models.CharField(_("name"), max_length=128, blank=True)
    parent_id = models.CharField(_("parent ID"), max_length=20, blank=True)
    business_group_id = models.CharField(_("business group ID"), max_length=20, blank=True)
    raw = models.JSONField(_("raw catalog fields"), default=dict, blank=True)

    class Meta:
        ordering = ["org_id"]
        constraints = [models.UniqueConstraint(fields=["device", "org_id"], name="virtual_org_unique_per_device")]
        verbose_name = _("virtual organisation")
        verbose_name_plural = _("virtual organisations")

    def __str__(self) -> str:
        return f"{self.name or self.org_id} ({self.org_id})"
