from django.contrib import admin

from deliberation.models import AuditEvent, Conversation, Participant, Statement, Vote
from kernel.models import Job


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["slug", "topic", "is_open", "strict_moderation", "created_at"]
    filter_horizontal = ["moderators"]


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "text", "moderation", "is_seed", "created_at"]
    list_filter = ["moderation", "is_seed"]
    search_fields = ["text"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "conversation", "status", "progress", "created_at"]
    list_filter = ["status", "kind"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "conversation", "actor", "action", "target"]
    list_filter = ["action"]


admin.site.register(Participant)
admin.site.register(Vote)
