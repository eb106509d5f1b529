from django.db import models

import auditlog.django


class Order(models.Model):
    """Tracked through settings.AUDITLOG_TRACKED_MODELS."""

    number = models.CharField(max_length=20)
    status = models.CharField(max_length=20, default="open")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    secret_note = models.CharField(max_length=50, default="")

    class Meta:
        app_label = "shop"

    def __str__(self):
        return f"Order {self.number}"


@auditlog.django.track(exclude=["internal"])
class Customer(models.Model):
    """Tracked through the decorator."""

    name = models.CharField(max_length=50)
    internal = models.CharField(max_length=50, default="")

    class Meta:
        app_label = "shop"


class Untracked(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "shop"
