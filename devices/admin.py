from django.contrib import admin

from .models import BusinessGroup, Channel, Device, Region, VirtualOrganization


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0
    fields = ("channel_id", "name", "status", "civil_code", "ptz_type")
    show_change_link = True


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("device_id", "name", "manufacturer", "model", "transport", "online", "last_keepalive_at")
    list_filter = ("online", "manufacturer", "transport")
    search_fields = ("device_id", "name", "manufacturer", "model")
    readonly_fields = ("created_at", "updated_at")
    inlines = [ChannelInline]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("channel_id", "name", "device", "status", "civil_code", "ptz_type")
    list_filter = ("status", "ptz_type")
    search_fields = ("channel_id", "name", "device__device_id")
    list_select_related = ("device",)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("civil_code", "name", "parent")
    search_fields = ("civil_code", "name")


@admin.register(BusinessGroup)
class BusinessGroupAdmin(admin.ModelAdmin):
    list_display = ("group_id", "name", "device")
    search_fields = ("group_id", "name")


@admin.register(VirtualOrganization)
class VirtualOrganizationAdmin(admin.ModelAdmin):
    list_display = ("org_id", "name", "parent_id", "business_group_id", "device")
    search_fields = ("org_id", "name")
