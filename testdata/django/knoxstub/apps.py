from django.apps import AppConfig


class KnoxStubConfig(AppConfig):
    name = "knoxstub"
    label = "knox"
    verbose_name = "Knox (stand-in)"
    default_auto_field = "django.db.models.AutoField"
