from django.apps import AppConfig


class GatehouseDRFConfig(AppConfig):
    """Checks the GATEHOUSE_DRF settings when Django starts, so that a
    mistake stops the project at once instead of answering 500 later."""

    name = "gatehouse_drf"
    verbose_name = "gatehouse DRF adapter"

    def ready(self):
        from .conf import load

        load()
