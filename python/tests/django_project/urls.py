from django.http import JsonResponse
from django.urls import path

from django_project.shop.models import Order


def ship(request, pk):
    order = Order.objects.get(pk=pk)
    order.status = "shipped"
    order.save()
    return JsonResponse({"ok": True})


urlpatterns = [path("orders/<int:pk>/ship", ship)]
