from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SipGatewayConfig(AppConfig):
    name = "sip_gateway"
    verbose_name = _("SIP gateway")
