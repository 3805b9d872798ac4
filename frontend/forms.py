"""The one plain Django form: creating a conversation from the moderator console."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ConversationNewForm(forms.Form):
    topic = forms.CharField(label=_("Topic"), max_length=300)
    slug = forms.SlugField(
        label=_("Link name"),
        max_length=80,
        required=False,
        help_text=_("Letters, digits and hyphens; left empty, it is made from the topic."),
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    strict_moderation = forms.BooleanField(
        label=_("Participant statements wait for a moderator"), required=False, initial=True
    )
    participant_statements_allowed = forms.BooleanField(
        label=_("Participants may submit statements"), required=False, initial=True
    )
